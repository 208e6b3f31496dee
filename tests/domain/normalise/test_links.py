"""Link resolution over the normalised frames: only changed rows come back."""

from __future__ import annotations

from domain.normalise.links import resolve_payment_links
from domain.normalise.stripe_invoices import normalise_invoice_payments, normalise_invoices
from domain.normalise.stripe_payments import normalise_charges, normalise_disputes
from domain.normalise.stripe_payouts import normalise_payout_lines
from tests.domain.normalise import wire


def _dispute(status: str, dispute_id: str = "du_1") -> dict[str, object]:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": 4990,
        "charge": "ch_1",
        "created": wire.T0,
        "currency": "eur",
        "status": status,
    }


def _frames() -> dict[str, object]:
    return {
        "invoice_payments": normalise_invoice_payments([wire.invoice_payment()], 1).rows,
        "invoices": normalise_invoices([wire.stripe_invoice()], 1).rows,
        "payout_lines": normalise_payout_lines({"po_1": [wire.balance_transaction()]}, 1).rows,
    }


def test_stripe_payment_gets_invoice_subscription_and_payout() -> None:
    payments = normalise_charges(
        [wire.charge(), wire.charge(id="ch_other", payment_intent="pi_x")], 1
    ).rows
    changed = resolve_payment_links(payments, **_frames())  # type: ignore[arg-type]
    assert changed["payment_id"].tolist() == ["ch_1"]
    row = wire.plain(changed)
    assert (row["invoice_id"], row["subscription_id"], row["payout_id"]) == (
        "in_1",
        "sub_1",
        "po_1",
    )
    assert list(changed.columns) == list(payments.columns)
    assert (changed.dtypes == payments.dtypes).all()


def test_links_are_idempotent() -> None:
    payments = normalise_charges([wire.charge()], 1).rows
    frames = _frames()
    first = resolve_payment_links(payments, **frames)  # type: ignore[arg-type]
    assert resolve_payment_links(first, **frames).empty  # type: ignore[arg-type]


def test_lost_dispute_is_a_chargeback() -> None:
    payments = normalise_charges([wire.charge(disputed=True)], 1).rows
    disputes = normalise_disputes([_dispute("lost")], 1).rows
    changed = resolve_payment_links(payments, disputes=disputes)
    assert changed["status"].tolist() == ["charged_back"]


def test_won_dispute_gives_the_charge_back_its_refund_status() -> None:
    payments = normalise_charges([wire.charge(disputed=True, amount_refunded=1000)], 1).rows
    disputes = normalise_disputes([_dispute("won")], 1).rows
    changed = resolve_payment_links(payments, disputes=disputes)
    assert changed["status"].tolist() == ["partially_refunded"]


def test_open_dispute_keeps_disputed_and_changes_nothing() -> None:
    payments = normalise_charges([wire.charge(disputed=True)], 1).rows
    disputes = normalise_disputes([_dispute("needs_response")], 1).rows
    assert resolve_payment_links(payments, disputes=disputes).empty


def test_failed_charge_is_not_touched_by_a_dispute() -> None:
    payments = normalise_charges([wire.charge(status="failed", balance_transaction=None)], 1).rows
    disputes = normalise_disputes([_dispute("lost")], 1).rows
    assert resolve_payment_links(payments, disputes=disputes).empty
