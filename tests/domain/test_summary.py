"""The nightly summary operators and the demo read."""

from __future__ import annotations

from domain import summary
from domain.sync_plan import SyncReport, Tally


def _report(streams: dict[str, Tally], totals: dict[str, dict[str, object]]) -> SyncReport:
    return SyncReport(
        run_id="run-1",
        as_of="2026-11-25",
        modes={"stripe": "full", "gocardless": "incremental"},
        streams=streams,
        cursors={"stripe/events": {"cursor": "evt_9"}},
        control_totals=totals,  # type: ignore[arg-type]
        seconds=3.2,
    )


def test_rows_per_stream_carry_the_providers_mode_and_counts() -> None:
    report = _report(
        {
            "stripe/payments": Tally(pulled=10, inserted=7, updated=2, unchanged=1),
            "gocardless/payments": Tally(pulled=3, updated=3, quarantined=1),
        },
        {},
    )
    rows = summary.stream_rows(report)
    assert [r["stream"] for r in rows] == ["gocardless/payments", "stripe/payments"]
    assert rows[1] == {
        "stream": "stripe/payments",
        "mode": "full",
        "pulled": 10,
        "inserted": 7,
        "updated": 2,
        "unchanged": 1,
        "stale": 0,
        "quarantined": 0,
    }
    assert rows[0]["mode"] == "incremental"


def test_text_names_the_control_totals_that_disagree() -> None:
    report = _report(
        {"stripe/payments": Tally(pulled=2, inserted=2)},
        {
            "stripe/payments": {"matches": True, "received": 2, "warehouse_rows": 2},
            "stripe/invoices": {"matches": False, "received": 3, "warehouse_rows": 2},
            "gocardless/payments": {"received": 0, "warehouse_rows": 5},
        },
    )
    out = summary.text(report)
    assert "2 rows written" in out
    assert "1 of 2 streams agree" in out
    assert "differing: stripe/invoices" in out


def test_a_night_with_no_change_says_so() -> None:
    out = summary.text(_report({}, {}))
    assert "nothing changed at the providers since the last run" in out


def test_markdown_has_every_section_and_the_run_id() -> None:
    report = _report({"stripe/payments": Tally(pulled=1, inserted=1)}, {})
    md = summary.markdown(report)
    for heading in ("## Rows per stream", "## Cursors", "## Control totals"):
        assert heading in md
    assert "`run-1`" in md
    assert "| stripe/payments | full | 1 | 1 |" in md


def test_recon_text_lists_kinds_with_amounts_in_major_units() -> None:
    from domain.reconcile import ReconReport

    report = ReconReport(
        run_id="r",
        as_of="2026-11-25",
        found=3,
        new=2,
        still_open=1,
        resolved=4,
        accepted=0,
        by_kind=[{"kind": "paid_not_shipped", "new": 2, "open_amount": 14380}],
    )
    out = summary.recon_text(report)
    assert "3 exceptions found — 2 new, 1 still open, 4 resolved, 0 accepted" in out
    assert "paid_not_shipped: new 2, open amount 143.80" in out
