"""Run the suites with Great Expectations 1.x: an ephemeral context, one pandas batch per
table, and Data Docs written to a folder the caller names (``var/gx/`` in production).

The context lives in memory (no ``gx/`` project folder to keep in sync with the code:
the suites are code) and is built afresh for each run (about 20 ms), so a suite edited
in code is the suite that runs, and results never pile up in a long-lived worker: the
Data Docs index lists tonight's validations. Results are asked for in ``COMPLETE`` format,
whose ``unexpected_index_list`` gives the positions of the failing rows; GX also copies
failing *values* into the Data Docs, which is why the frames never hold an email or a
name (``domain.quality`` reads them without, and a test checks the HTML).

``prefect-great-expectations`` is not used: it breaks on GX 1.x.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.data_context.context_factory import project_manager
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from domain.quality import Outcome
from expectations.spec import Check, TableSuite

SITE = "gate"
SOURCE = "warehouse"
RESULT_FORMAT = {"result_format": "COMPLETE"}


def context(docs: Path | None) -> Any:
    """An in-memory GX context, with a Data Docs site under ``docs`` when given."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    ctx = gx.get_context(mode="ephemeral", project_config=config)
    if docs is not None:
        ctx.add_data_docs_site(
            site_name=SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return ctx


def validate(
    frames: Mapping[str, pd.DataFrame],
    suites: Mapping[str, TableSuite],
    docs: Path | None = None,
) -> list[Outcome]:
    """Validate each frame against its suite; write the Data Docs if ``docs`` is given."""
    ctx = context(docs.resolve() if docs is not None else None)
    try:
        source = ctx.data_sources.add_or_update_pandas(SOURCE)
        outcomes: list[Outcome] = []
        for name, frame in frames.items():
            outcomes += _validate_one(ctx, source, suites[name], frame.reset_index(drop=True))
        if docs is not None:
            ctx.build_data_docs(site_names=[SITE])
    finally:
        # GX keeps the last context as its "project", and with it every batch validated:
        # on the large shop 1.4 GB of frames held through the rest of the night.
        project_manager.set_project(None)
    return outcomes


def index_page(docs: Path) -> Path:
    return docs / "index.html"


def _validate_one(ctx: Any, source: Any, suite: TableSuite, frame: pd.DataFrame) -> list[Outcome]:
    try:
        asset = source.get_asset(suite.table)
    except LookupError:
        asset = source.add_dataframe_asset(suite.table)
    try:
        batch = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        batch = asset.add_batch_definition_whole_dataframe("whole")
    expectations = [_tagged(check, i) for i, check in enumerate(suite.checks)]
    gx_suite = ctx.suites.add_or_update(
        gx.ExpectationSuite(name=suite.table, expectations=expectations)
    )
    definition = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.table, data=batch, suite=gx_suite)
    )
    results = definition.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT)
    return [_outcome(suite, result) for result in results.results]


def _tagged(check: Check, index: int) -> gxe.Expectation:
    """A fresh copy of the check's expectation, tagged with its place in the suite (GX
    stamps ids on the expectations it stores, so the suite's own objects stay clean)."""
    data = check.expectation.dict(exclude={"id", "meta", "rendered_content"})
    return type(check.expectation)(**data, meta={"check": index})


def _outcome(suite: TableSuite, result: Any) -> Outcome:
    check = suite.checks[int(result.expectation_config.meta["check"])]
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return Outcome(suite.table, check, False, error=str(info.get("exception_message")))
    details = result.result or {}
    rows = details.get("unexpected_index_list") or []
    return Outcome(
        suite.table,
        check,
        bool(result.success),
        unexpected_rows=tuple(int(r) for r in rows) if check.level == "row" else (),
        unexpected_count=int(details.get("unexpected_count") or 0),
        element_count=int(details.get("element_count") or 0),
        observed=None if details.get("observed_value") is None else str(details["observed_value"]),
    )
