"""What a backfill plans for a range, and the ranges it refuses."""

from __future__ import annotations

from datetime import date

import pytest

from domain.backfill import Backfillable, BackfillReport, Step, check_range, plan

D28, D29, D30 = date(2026, 6, 28), date(2026, 6, 29), date(2026, 6, 30)


def test_a_range_flow_runs_once_and_a_daily_flow_once_per_day_as_a_dry_run() -> None:
    steps = plan(
        D28, D30, [Backfillable("kpis", "range"), Backfillable("tax_report", "daily", True)]
    )
    assert steps == [
        Step("kpis", {"date_from": D28, "date_to": D30}),
        Step("tax_report", {"as_of": D28, "dry_run": True}),
        Step("tax_report", {"as_of": D29, "dry_run": True}),
        Step("tax_report", {"as_of": D30, "dry_run": True}),
    ]
    assert [s.label for s in steps[:2]] == ["kpis 2026-06-28..2026-06-30", "tax_report 2026-06-28"]


def test_a_daily_flow_without_dry_run_gets_only_its_date() -> None:
    assert plan(D30, D30, [Backfillable("reports", "daily")]) == [Step("reports", {"as_of": D30})]


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [
        (D30, D29, "before date_from"),
        (D29, date(2026, 7, 1), "after today"),
        (date(2024, 1, 1), D30, "at most 731"),
    ],
)
def test_refused_ranges(date_from: date, date_to: date, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_range(date_from, date_to, today=D30)


def test_the_report_counts_runs_per_flow_and_says_what_it_skipped() -> None:
    report = BackfillReport(
        "r1",
        "2026-06-28",
        "2026-06-30",
        ["kpis 2026-06-28..2026-06-30", "tax_report 2026-06-28", "tax_report 2026-06-29"],
        {"other": "not built yet"},
    )
    assert report.counts() == {"kpis": 1, "tax_report": 2}
    assert report.text() == (
        "backfill 2026-06-28..2026-06-30: kpis 1 run(s), tax_report 2 run(s); "
        "skipped other (not built yet)"
    )
    assert report.rows()[-1] == {"step": "other", "status": "skipped: not built yet"}
