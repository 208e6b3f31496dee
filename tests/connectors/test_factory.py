"""Connectors built from the settings object, keys unwrapped only there."""

from __future__ import annotations

import pytest

import connectors
from connectors.aftership import AfterShipConnector
from connectors.gocardless import GoCardlessConnector
from connectors.sendgrid import SendGridConnector
from connectors.stripe import StripeConnector
from echeancier.settings import Settings
from sandbox.server import SANDBOX_KEYS, RunningSandbox
from sandbox.store import Store
from tests.connectors.stripe_data import T0, charges


def _settings(sandbox: RunningSandbox) -> Settings:
    return Settings(**sandbox.env())  # type: ignore[arg-type]


def test_every_connector_from_the_sandbox_environment(
    sandbox: RunningSandbox, store: Store
) -> None:
    built = connectors.from_settings(_settings(sandbox), stripe={"max_workers": 2})
    assert isinstance(built.stripe, StripeConnector)
    assert built.stripe.max_workers == 2
    assert built.stripe is built.stripe  # built once
    assert isinstance(built.gocardless, GoCardlessConnector)
    assert isinstance(built.aftership, AfterShipConnector)
    assert isinstance(built.sendgrid, SendGridConnector)
    assert built.gocardless.base_url == sandbox.url
    charges(store, 3)
    assert len(next(iter(built.stripe.list_pages("charges", created_gte=T0)))) == 3
    for key in SANDBOX_KEYS.values():
        assert key not in repr(built.stripe) + repr(built.gocardless)
        assert key not in repr(built.aftership) + repr(built.sendgrid)


def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SANDBOX_KEYS:
        monkeypatch.delenv(name, raising=False)
    settings = Settings(STRIPE_API_BASE="http://127.0.0.1:9")  # type: ignore[call-arg]
    built = connectors.from_settings(settings)
    with pytest.raises(connectors.MissingCredentials, match="STRIPE_API_KEY is not set"):
        _ = built.stripe
    with pytest.raises(connectors.MissingCredentials, match="SENDGRID_API_KEY"):
        connectors.sendgrid_from_settings(settings)
