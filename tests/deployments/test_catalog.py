"""prefect.yaml, the catalogue and the flows agree (the deployments are applied for real
in test_server.py)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from prefect.cli.deploy._models import PrefectYamlModel
from prefect.flows import Flow

from deployments import catalog
from deployments.render import PREFECT_YAML, render

ROOT = Path(__file__).resolve().parents[2]


def _yaml() -> dict:
    return yaml.safe_load(PREFECT_YAML.read_text())


def test_the_committed_prefect_yaml_is_what_the_catalogue_renders() -> None:
    assert PREFECT_YAML.read_text() == render(), "run: python -m deployments render"


def test_prefect_accepts_the_file_and_every_flow_of_the_design_has_a_deployment() -> None:
    model = PrefectYamlModel.model_validate(_yaml())
    names = [d.name for d in model.deployments]
    assert names == [
        "nightly",
        "sync",
        "reconcile",
        "dunning",
        "renewal-notices",
        "shipment-notices",
        "tax-report",
        "kpis",
        "send-outbox",
        "backfill",
        "erase_customer",
        "retention",
    ]
    for deployment in _yaml()["deployments"]:
        assert deployment["work_pool"]["name"] == "echeancier"
        assert "echeancier" in deployment["tags"]  # the failure automation matches it
        assert deployment["enforce_parameter_schema"] is True
        assert (ROOT / deployment["entrypoint"].split(":")[0]).parent == ROOT / "flows"


def test_nightly_runs_at_two_and_the_sender_by_day_in_the_business_time_zone() -> None:
    scheduled = {d["name"]: d["schedules"] for d in _yaml()["deployments"] if d["schedules"]}
    assert scheduled == {
        "nightly": [{"cron": "0 2 * * *", "timezone": "Europe/Paris"}],
        "send-outbox": [{"cron": "*/15 9-18 * * *", "timezone": "Europe/Paris"}],
        "retention": [{"cron": "30 3 * * *", "timezone": "Europe/Paris"}],
    }
    nightly = next(d for d in _yaml()["deployments"] if d["name"] == "nightly")
    assert nightly["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}


def test_flow_results_are_persisted_under_the_deployments() -> None:
    env = _yaml()["definitions"]["work_pool"]["job_variables"]["env"]
    assert env["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] == "true"


@pytest.mark.parametrize("entry", catalog.DEPLOYMENTS, ids=lambda d: d.name)
def test_each_built_flow_matches_its_row(entry: catalog.Deployment) -> None:
    if not catalog.importable(entry):
        pytest.skip(f"flows/{entry.name}.py is not built yet")
    flow = catalog.load_flow(entry)
    assert isinstance(flow, Flow)
    assert flow.name == entry.flow_name  # run_deployment("<flow>/<deployment>") relies on it
    accepted = inspect.signature(flow.fn).parameters
    if entry.backfill == "daily" or entry.launched_by_nightly:
        assert "as_of" in accepted
    if entry.backfill == "range":
        assert {"date_from", "date_to"} <= set(accepted)
