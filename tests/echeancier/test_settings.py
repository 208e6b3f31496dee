"""Settings come from the environment of DESIGN §3.2 and never show a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from echeancier.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "ECHEANCIER_TIMEZONE", "ECHEANCIER_POLICIES", "STRIPE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///var/echeancier.db"
    assert settings.timezone == "Europe/Paris"
    assert settings.stripe_api_key is None


def test_a_secret_is_masked_when_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_supersecret123")
    settings = load_settings()
    assert "supersecret" not in repr(settings)
    assert "supersecret" not in str(settings)
    assert settings.stripe_api_key is not None
    assert settings.stripe_api_key.get_secret_value() == "sk_test_supersecret123"


def test_default_policies_are_found_from_any_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ECHEANCIER_POLICIES", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_settings().policies == ROOT / "policies"
    assert (load_settings().policies / "reconciliation.yaml").exists()


def test_an_explicit_policies_folder_is_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ECHEANCIER_POLICIES", str(tmp_path))
    assert load_settings().policies == tmp_path
