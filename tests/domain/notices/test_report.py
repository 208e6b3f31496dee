"""The report: tonight's notices by kind, what was already there, no personal data."""

from __future__ import annotations

from datetime import date

from domain.notice import Notice
from domain.notices import RENEWAL_KINDS, NoticeReport, build_report, markdown
from domain.notices.plan import NoticePlan, Withdrawal

AS_OF = date(2026, 6, 30)


def notice(key: str, audience: str = "customer", stage: str | None = None) -> Notice:
    return Notice(
        dedupe_key=key,
        kind=key.split(":")[0] if audience == "customer" else "tacit_renewal",
        template="t",
        locale="fr",
        planned_for=AS_OF,
        context={"email": "never@example.com"},
        audience=audience,
        stage=stage,
        customer_id="cus_1",
        subscription_id=key.split(":")[1],
    )


PLAN = NoticePlan(
    notices=(
        notice("tacit_renewal:sub_1:2026-09-19"),
        notice("trial_ending:sub_2:2026-07-04:7", stage="7"),
        notice("tacit_renewal_unnoticed:sub_3:2026-07-23", "finance", "unnoticed"),
    ),
    held=(notice("upcoming_renewal:sub_4:2026-07-23:30", stage="30"),),
    withdrawals=(Withdrawal("delivered", ("shipment_delay:T1:in_transit",)),),
    register_tally={"opened": 1, "still_open": 0, "closed": 0},
)


def build(before: dict[str, str], dry_run: bool = False) -> NoticeReport:
    return build_report(
        flow="renewal-notices",
        run_id="run-1",
        as_of=AS_OF,
        dry_run=dry_run,
        kinds=RENEWAL_KINDS,
        plan=PLAN,
        before=before,
        withdrawn={"delivered": 1},
        delivery={"sent": 2},
    )


def test_counts_by_kind_and_audience() -> None:
    report = build({"trial_ending:sub_2:2026-07-04:7": "sent"})
    rows = {(r["kind"], r["audience"]): r for r in report.by_kind}
    assert rows[("tacit_renewal", "customer")]["new"] == 1
    assert rows[("tacit_renewal", "finance")]["new"] == 1
    assert (
        rows[("trial_ending", "customer")]["new"],
        rows[("trial_ending", "customer")]["already"],
    ) == (0, 1)
    assert rows[("upcoming_renewal", "customer")]["held"] == 1
    assert rows[("mandate_problem", "customer")] == {
        "kind": "mandate_problem",
        "audience": "customer",
        "new": 0,
        "already": 0,
        "held": 0,
    }
    assert (report.new, report.already, report.held) == (2, 1, 1)
    assert [r["dedupe_key"] for r in report.tonight] == [
        "tacit_renewal:sub_1:2026-09-19",
        "tacit_renewal_unnoticed:sub_3:2026-07-23",
    ]


def test_a_dry_run_plans_and_a_real_run_promotes_what_it_planned() -> None:
    dry = build({}, dry_run=True)
    assert {r["status"] for r in dry.tonight} == {"planned"}
    assert "planned (dry run)" in dry.text()
    planned = {n.dedupe_key: "planned" for n in PLAN.notices}
    real = build(planned)
    assert real.new == 3
    assert {r["status"] for r in real.tonight} == {"queued"}


def test_text_and_markdown_carry_ids_and_counts_never_context() -> None:
    report = build({})
    for out in (report.text(), markdown(report)):
        assert "renewal-notices" in out
        assert "@" not in out
    assert "withdrawn from the outbox: 1 (delivered)" in report.text()
    assert "1 opened" in report.text()
    assert "@" not in str(report.tonight) + str(report.counts())
