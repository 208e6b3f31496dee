"""The intermediate frames several KPI computations share, computed once per inputs.

:func:`kpi_daily`, :func:`cashflow_forecast` and the finance report each start from the
subscriptions' paying spans, the invoices' receivables and the failed collections of the
same facts. Each was computing them again; these return the ones
:meth:`KpiInputs.derived` already holds (same inputs object, same time zone). Frames
returned here are shared: derive from them, never modify them in place.
"""

from __future__ import annotations

import pandas as pd

from domain.kpis.collections import failures
from domain.kpis.inputs import KpiInputs
from domain.kpis.mrr import paying_spans
from domain.kpis.receivables import receivables


def spans_of(inputs: KpiInputs, tz: str) -> pd.DataFrame:
    """:func:`paying_spans` of the inputs."""
    return inputs.derived(
        "paying_spans",
        tz,
        lambda: paying_spans(
            inputs.subscriptions, inputs.payments, inputs.invoices, inputs.dunning_actions, tz
        ),
    )


def owed_of(inputs: KpiInputs, tz: str) -> pd.DataFrame:
    """:func:`receivables` of the inputs' invoices."""
    return inputs.derived("receivables", tz, lambda: receivables(inputs.invoices, tz))


def failures_of(inputs: KpiInputs, tz: str) -> pd.DataFrame:
    """:func:`failures` of the inputs (from their receivables)."""
    return inputs.derived(
        "failures",
        tz,
        lambda: failures(
            inputs.payments,
            inputs.invoices,
            inputs.dunning_actions,
            tz,
            owed=owed_of(inputs, tz),
        ),
    )
