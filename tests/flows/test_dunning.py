"""End to end: a generated shop synced from the sandbox, then the real ``dunning`` flow,
on SQLite and PostgreSQL, with e-mails and payment retries going over HTTP to the
sandbox's SendGrid, Stripe and GoCardless.

What a finance team must be able to rely on:

- every reminder goes to a customer who still owes the money, once;
- running the night again, or retrying it after a crash between a send and its record,
  sends no e-mail twice and retries no payment twice (the sandbox's own records say so);
- the dry run plans exactly what the real run then does, and sends nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from sqlalchemy import Engine, select, update
from stripe import StripeClient

import flows.dunning
import tasks.outbox
from domain.dunning import DunningPlan, decide, recovery
from echeancier.settings import load_settings
from flows.dunning import DunningReport, dunning
from flows.sync import sync
from sandbox.generate import Summary, generate
from sandbox.store import Store
from tasks.dunning import (
    RECOVERY_INPUTS,
    decide_dunning,
    load_dunning_policy,
    read_inputs,
    rebuild_dunning_recovery,
)
from tasks.partitions import customer_partitions
from tests.flows.conftest import AS_OF, SEED, Live
from warehouse import tables
from warehouse.outbox_tables import dunning_actions, dunning_recovery, notifications

CUSTOMERS = 150  # enough overdue items for every ladder and action to show up


@pytest.fixture(scope="module")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Summary]:
    """A bigger shop than the other flow tests' (overrides tests/flows/conftest.py)."""
    path = tmp_path_factory.mktemp("dunning-shop") / "template.db"
    store = Store.open(path)
    summary = generate(store, "small", SEED, AS_OF, customers=CUSTOMERS)
    store.close()
    return path, summary


WRITE_PATHS = ("/pay", "/actions/retry", "/v1/subscriptions/", "/mark_uncollectible")


@pytest.fixture
def night(synced: Live, monkeypatch: pytest.MonkeyPatch) -> Live:
    """The shop synced for AS_OF; the dunning flow reads the sandbox's clock."""
    monkeypatch.setattr(flows.dunning, "utc_now", synced.sandbox.app.state.clock.now)
    return synced


def run_dunning(**kwargs: Any) -> DunningReport:
    state = dunning(return_state=True, **kwargs)
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, DunningReport)
    return report


def mails(live: Live) -> list[dict[str, Any]]:
    return list(requests.get(live.url + "/__sandbox/sendgrid/messages", timeout=5).json())


def writes(live: Live) -> list[tuple[str, str]]:
    """Every write call the pipeline made to Stripe or GoCardless (method, path)."""
    rows = requests.get(live.url + "/__sandbox/requests", timeout=5).json()
    return [
        (r["method"], r["path"])
        for r in rows
        if r["method"] in ("POST", "DELETE") and any(p in r["path"] for p in WRITE_PATHS)
    ]


def outbox(live: Live) -> list[dict[str, Any]]:
    with live.engine.connect() as conn:
        rows = conn.execute(select(notifications).order_by(notifications.c.dedupe_key))
        return [dict(r._mapping) for r in rows]


def actions(live: Live) -> list[dict[str, Any]]:
    with live.engine.connect() as conn:
        rows = conn.execute(select(dunning_actions).order_by(dunning_actions.c.dedupe_key))
        return [dict(r._mapping) for r in rows]


def test_each_reminder_goes_once_to_a_customer_who_still_owes(night: Live) -> None:
    first = run_dunning(as_of=AS_OF)

    sent = mails(night)
    rows = outbox(night)
    assert first.recorded["notices_new"] == len(rows) > 0
    assert len(sent) == sum(r["status"] == "sent" for r in rows) > 0
    by_id = {r["notification_id"]: r for r in rows}
    with night.engine.connect() as conn:
        invoices = {r.invoice_id: r for r in conn.execute(select(tables.invoices))}
        emails = dict((r.customer_id, r.email) for r in conn.execute(select(tables.customers)))
    for mail in sent:
        row = by_id[mail["body"]["custom_args"]["notification_id"]]
        to = mail["body"]["personalizations"][0]["to"][0]["email"]
        assert to == emails[row["customer_id"]]
        if row["invoice_id"]:
            invoice = invoices[row["invoice_id"]]
            assert invoice.status == "open"
            assert invoice.amount_remaining > 0
        assert mail["body"]["subject"]
        assert {c["type"] for c in mail["body"]["content"]} == {"text/plain", "text/html"}
    assert (
        Counter(m["body"]["custom_args"]["notification_id"] for m in sent).most_common(1)[0][1] == 1
    )


def test_running_the_night_again_sends_and_charges_nothing_more(night: Live) -> None:
    run_dunning(as_of=AS_OF)
    sent, charged, ledger = mails(night), writes(night), actions(night)

    again = run_dunning(as_of=AS_OF)

    assert again.recorded == dict.fromkeys(again.recorded, 0)
    assert mails(night) == sent
    assert writes(night) == charged
    assert [(a["dedupe_key"], a["status"]) for a in actions(night)] == [
        (a["dedupe_key"], a["status"]) for a in ledger
    ]


def test_the_dry_run_plans_exactly_what_the_real_run_then_does(night: Live) -> None:
    planned = run_dunning(as_of=AS_OF, dry_run=True)

    assert mails(night) == []
    assert writes(night) == []
    planned_actions = {a["dedupe_key"] for a in actions(night)}
    planned_notices = {r["dedupe_key"] for r in outbox(night)}
    assert {a["status"] for a in actions(night)} == {"planned"}
    assert {r["status"] for r in outbox(night)} == {"planned"}
    assert len(planned.planned) == len(planned_actions) > 0

    real = run_dunning(as_of=AS_OF)

    assert real.recorded["actions_new"] == real.recorded["notices_new"] == 0
    assert {a["dedupe_key"] for a in actions(night)} == planned_actions
    assert {a["status"] for a in actions(night)} <= {"done", "failed", "skipped", "cancelled"}
    sent_ids = {m["body"]["custom_args"]["notification_id"] for m in mails(night)}
    delivered = {r["dedupe_key"] for r in outbox(night) if r["notification_id"] in sent_ids}
    cancelled = {r["dedupe_key"] for r in outbox(night) if r["status"] == "cancelled"}
    assert delivered | cancelled == planned_notices


# The outbox and the ledger's SQL are proven on both databases by the tests above; these
# longer scenarios run on SQLite only, to keep the suite within its time budget.
SQLITE_ONLY = pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_a_crash_between_the_send_and_its_record_sends_nothing_twice(
    night: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SendGrid takes every mail of the night but its answers never come back: the run
    # cannot know what left. Then the operator presses Retry.
    requests.post(
        night.url + "/__sandbox/faults", json={"provider": "sendgrid", "lose_answer": 1000}
    )
    first = run_dunning(as_of=AS_OF)
    requests.delete(night.url + "/__sandbox/faults")
    taken = mails(night)
    assert first.delivered.get("unknown") == len(taken) > 0

    run_dunning(as_of=AS_OF)  # the Retry, at once: the feed may not know them yet
    assert mails(night) == taken
    night.advance((tasks.outbox.UNKNOWN_GRACE + timedelta(minutes=1)).total_seconds())
    settled = run_dunning(as_of=AS_OF)  # later: resolved from SendGrid's activity feed

    assert mails(night) == taken
    assert settled.delivered == {"resolved_sent": len(taken)}
    assert {r["status"] for r in outbox(night)} <= {"sent", "cancelled", "failed"}


@SQLITE_ONLY
def test_a_lost_answer_from_the_payment_provider_never_charges_twice(night: Live) -> None:
    """Stripe carries out the retry but its answer is lost; the run fails clearly, the
    operator presses Retry, the same idempotency key goes again and Stripe replays its
    first answer: one attempt at the provider, not two."""
    charges_before = night.store.count("stripe", "charges")
    requests.post(
        night.url + "/__sandbox/faults",
        json={"provider": "stripe", "lose_answer": 1000, "path": "/v1/invoices/"},
    )
    state = dunning(as_of=AS_OF, return_state=True)
    requests.delete(night.url + "/__sandbox/faults")
    assert not state.is_completed()  # the provider never answered: a clear failure
    assert [a["status"] for a in actions(night) if a["action"] == "retry_payment"] == ["pending"]
    assert mails(night) == []  # nothing reached a customer from a failed run

    run_dunning(as_of=AS_OF)  # the operator's Retry

    (retry,) = [a for a in actions(night) if a["action"] == "retry_payment"]
    assert retry["provider"] == "stripe"
    assert retry["status"] == "done"
    pay_calls = [p for m, p in writes(night) if p.endswith(f"{retry['invoice_id']}/pay")]
    assert len(pay_calls) >= 2  # sent more than once (lost answers, then the Retry) …
    # … and carried out once: one new charge (declined or paid) per retry, not two.
    assert night.store.count("stripe", "charges") == charges_before + 1


DAY = 86_400


def step_days(ladder: str) -> dict[str, int]:
    from domain.dunning import load_policy
    from echeancier.settings import load_settings

    policy = load_policy(load_settings().policies / "dunning.yaml")
    return {step.stage: step.day for step in policy.ladders[ladder].steps}


@SQLITE_ONLY
def test_a_month_of_nights_gives_each_step_on_its_day_and_nothing_after_payment(
    night: Live,
) -> None:
    """35 nights in a row. Each item climbs its ladder one step per step day (the first
    night may catch up on a step already due, never on several). After the first night on
    which some item is reminded with steps still ahead of it, that customer pays (a bank
    transfer, recorded at Stripe); the next night's sync brings it and they get nothing
    more."""
    stripe = StripeClient(night.sandbox.env()["STRIPE_API_KEY"], base_addresses={"api": night.url})
    payer: str | None = None
    paid_night = None
    for day in (AS_OF + timedelta(days=k) for k in range(35)):
        if payer is not None and paid_night is None:
            stripe.v1.invoices.pay(payer, {"paid_out_of_band": True})
            night.advance(60)
            assert sync(as_of=day, return_state=True).is_completed()
            paid_night = day
        run_dunning(as_of=day)
        if payer is None:
            payer = _reminded_with_steps_ahead(actions(night), day)
        night.advance(DAY)

    rows = actions(night)
    assert payer is not None, "no item was reminded with steps still ahead"
    assert len({r["invoice_id"] or r["payment_id"] for r in rows}) >= 3
    for row in rows:
        days = step_days(row["ladder"])[row["stage"]]
        if row["as_of"] > AS_OF:
            assert row["days_overdue"] == days, row  # on its day, not before, not after
        else:
            assert row["days_overdue"] >= days, row
        assert row["status"] in ("done", "skipped", "failed"), row
    for item in {r["invoice_id"] for r in rows}:
        stages = [(r["as_of"], r["stage"]) for r in rows if r["invoice_id"] == item]
        per_night = {d: {s for d2, s in stages if d2 == d} for d, _ in stages}
        assert all(len(s) == 1 for s in per_night.values()), stages  # one step a night
    assert not [r for r in rows if r["invoice_id"] == payer and r["as_of"] >= paid_night]
    waiting = [r for r in outbox(night) if r["invoice_id"] == payer and r["status"] == "queued"]
    assert waiting == []


def _reminded_with_steps_ahead(rows: list[dict[str, Any]], day: Any) -> str | None:
    for row in rows:
        if row["as_of"] != day or row["action"] != "email" or not row["invoice_id"]:
            continue
        days = step_days(row["ladder"])
        if max(days.values()) > days[row["stage"]]:
            return str(row["invoice_id"])
    return None


def _decisions(plan: DunningPlan) -> tuple[Any, ...]:
    return (
        plan.actions.to_dict("records"),
        [vars(n) for n in plan.notices],
        plan.cancellations.to_dict("records"),
        plan.skipped.to_dict("records"),
    )


def test_the_decisions_do_not_depend_on_how_many_customers_are_read_at_a_time(
    night: Live,
) -> None:
    """A big shop is decided one customer partition at a time (tasks/partitions.py). The
    plan must be the one a single pass over the whole shop gives, including for a
    payment without a customer that pays an invoice of another partition (left out
    there, it would remind a customer who has paid), and the recovery analytics too."""
    run_dunning(as_of=AS_OF)  # a ledger, waiting e-mails, retries behind the next night
    later = AS_OF + timedelta(days=7)
    settings = load_settings()
    policy, rates = load_dunning_policy.fn(settings)
    owed = decide(read_inputs(night.engine), policy, rates, later, portal_url=settings.portal_url)
    payer = str(owed.actions.loc[owed.actions["invoice_id"].notna(), "invoice_id"].iloc[0])
    with night.engine.begin() as conn:  # a succeeded payment, its customer unknown, pays it
        paid = conn.execute(
            select(tables.payments.c.payment_id).where(tables.payments.c.status == "succeeded")
        ).first()
        assert paid is not None
        conn.execute(
            update(tables.payments)
            .where(tables.payments.c.payment_id == paid.payment_id)
            .values(customer_id=None, invoice_id=payer)
        )

    whole = decide(read_inputs(night.engine), policy, rates, later, portal_url=settings.portal_url)
    small = settings.model_copy(update={"dunning_partition_size": 20})
    with customer_partitions(night.engine, 20) as parts:
        assert len(parts) == 8  # 150 customers, and the payment no partition owns
        assert parts[0].unowned(tables.payments, ["payment_id"])["payment_id"].tolist() == [
            paid.payment_id
        ]
    sliced = decide_dunning.fn(small, policy, rates, later)

    assert payer not in set(whole.actions["invoice_id"].dropna())  # it is paid
    assert len(whole.actions) > 0
    assert len(whole.notices) > 0
    assert _decisions(sliced.plan) == _decisions(whole)

    expected = recovery(read_inputs(night.engine, RECOVERY_INPUTS), later)
    assert len(expected) > 0
    # From the failures the decisions found, and from a rebuild that reads them itself.
    for facts in (sliced.failures, None):
        rebuild_dunning_recovery.fn(small, later, facts)
        assert _recovery_sums(night.engine) == _recovery_sums(expected)


def _recovery_sums(source: Engine | pd.DataFrame) -> list[dict[str, Any]]:
    """The recovery rows' counts and amounts, stored or computed, in key order."""
    if isinstance(source, Engine):
        with source.connect() as conn:
            source = pd.read_sql(select(dunning_recovery), conn)
    key = ["failure_month", "provider", "stage", "channel", "currency"]
    sums = ["failed_count", "failed_amount", "recovered_count", "recovered_amount"]
    rows = source.sort_values(key, ignore_index=True)
    return rows[key + sums].astype({c: "int64" for c in sums}).to_dict("records")
