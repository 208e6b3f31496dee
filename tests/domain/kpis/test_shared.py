"""The frames the KPIs share: computed once per inputs, the same figures as computed apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from domain.kpis import KpiInputs, cashflow_forecast, failures, kpi_daily
from domain.kpis.mrr import paying_spans
from domain.kpis.shared import failures_of, spans_of
from tests.domain.kpis.build import TZ, action, inputs, invoice, payment, payout, sub

AS_OF = date(2026, 6, 30)


def shop() -> KpiInputs:
    return inputs(
        subscriptions=[
            sub("s1", "A", "2026-01-15", 2000, period_end="2026-07-15"),
            sub("s2", "B", "2026-02-10", 3000, period_end="2026-07-10"),
        ],
        invoices=[
            invoice("I1", 2000, "2026-05-15", paid="2026-05-15", subscription="s1"),
            invoice("I2", 3000, "2026-06-10", status="open", subscription="s2"),
        ],
        payments=[
            payment("p1", 2000, "2026-05-15", invoice_id="I1", subscription="s1", payout="po"),
            payment("p2", 3000, "2026-06-10", status="failed", invoice_id="I2", subscription="s2"),
            payment("p3", 3000, "2026-06-13", status="failed", invoice_id="I2", subscription="s2"),
        ],
        payouts=[payout("po", 2000, "2026-05-17", "2026-05-18")],
        actions=[action("2026-06-11", "reminder_1", invoice_id="I2", subscription="s2")],
    )


def test_the_nights_computations_on_one_inputs_give_what_each_gives_alone() -> None:
    shared = shop()  # as the kpis flow hands one inputs object to every task
    daily = kpi_daily(shared, date(2026, 6, 1), AS_OF, TZ)
    forecast = cashflow_forecast(shared, AS_OF, TZ)
    units = failures_of(shared.with_days(TZ), TZ)
    pd.testing.assert_frame_equal(daily, kpi_daily(shop(), date(2026, 6, 1), AS_OF, TZ))
    pd.testing.assert_frame_equal(forecast, cashflow_forecast(shop(), AS_OF, TZ))
    alone = shop()
    expected = failures(alone.payments, alone.invoices, alone.dunning_actions, TZ)
    pd.testing.assert_frame_equal(units, expected)
    assert not units.empty
    assert not forecast.empty


def test_what_is_shared_is_not_changed_by_those_who_read_it() -> None:
    shared = shop().with_days(TZ)
    kpi_daily(shared, date(2026, 6, 1), AS_OF, TZ)
    cashflow_forecast(shared, AS_OF, TZ)
    fresh = paying_spans(
        shared.subscriptions, shared.payments, shared.invoices, shared.dunning_actions, TZ
    )
    pd.testing.assert_frame_equal(spans_of(shared, TZ), fresh)
    assert spans_of(shared, TZ) is spans_of(shared, TZ)


@pytest.mark.parametrize("tz", ["Europe/Paris", "America/New_York"])
def test_other_frames_or_another_time_zone_are_computed_again(tz: str) -> None:
    shared = shop()
    spans_of(shared, TZ)
    fewer = replace(shared, subscriptions=shared.subscriptions.iloc[:1])
    paid_spans = spans_of(shared, tz)
    assert len(paid_spans) == 2
    assert list(spans_of(fewer, tz)["subscription_id"]) == ["s1"]
    computed = paying_spans(
        shared.subscriptions, shared.payments, shared.invoices, shared.dunning_actions, tz
    )
    pd.testing.assert_frame_equal(paid_spans, computed)
