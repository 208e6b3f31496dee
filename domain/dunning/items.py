"""What is owed tonight: overdue (or nearly due) invoices and failed payments, one row each.

An **item** is either an open invoice (``status`` open, ``amount_remaining`` > 0; its
``item_id`` is the invoice id) or a failed collection with no invoice — a GoCardless
subscription or instalment payment that ``failed`` or was ``charged_back`` (its
``item_id`` is the payment id). Its due day is the invoice's ``due_on`` (or
``issued_on`` for an invoice charged automatically), or the day the payment failed.

An item is **settled**, and never reminded, when any provider shows the money came in:

- the invoice is paid, void or uncollectible, or ``amount_remaining`` <= 0;
- a succeeded payment is linked to it (``payments.invoice_id`` or Stripe's
  ``invoice_payments``, by charge or payment intent), or ``invoice_payments`` says paid;
- a later one-off payment of the same customer, amount and currency succeeded (failed
  payments: next month's regular collection does not pay last month's);
- the same person (same e-mail, whatever the provider's customer id) paid the same
  amount in the same currency through the *other* provider on or after the item's day.

A linked payment still ``pending`` (a SEPA debit in flight) holds the item too.
Example: invoice ``in_1`` of 49,90 € failed at Stripe on 2 November; on 4 November the
customer pays 49,90 € by GoCardless: from that night ``in_1`` is settled (``paid``) and
its pending reminder is cancelled.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from domain.dunning.inputs import DunningInputs, day, flag, instant, local_day, stamp, text, whole
from domain.dunning.model import DunningPolicy

PAID = ("succeeded", "partially_refunded", "refunded")
FAILED = ("failed", "charged_back")
DEBIT_TYPES = frozenset(
    {"sepa_debit", "bacs_debit", "direct_debit", "au_becs_debit", "acss_debit", "us_bank_account"}
)
ITEM_COLUMNS = (
    "item_id",
    "kind",
    "invoice_id",
    "payment_id",
    "customer_id",
    "subscription_id",
    "provider",
    "amount",
    "currency",
    "due_day",
    "days_overdue",
    "number",
    "hosted_invoice_url",
    "is_business",
    "country",
    "locale",
    "method",
    "mandate_id",
    "payment_status",
    "failure_code",
    "decline_code",
)


def persons(inputs: DunningInputs) -> pd.DataFrame:
    """customer_id -> person (lower-cased e-mail, else the id), name, country, locale, B2B."""
    customers = inputs.table("customers").drop_duplicates("customer_id", keep="last")
    email = text(customers["email"]).str.strip().str.lower()
    return pd.DataFrame(
        {
            "customer_id": text(customers["customer_id"]),
            "person": email.where(email.notna() & (email != ""), text(customers["customer_id"])),
            "name": text(customers["name"]),
            "customer_country": text(customers["country"]).str.upper(),
            "customer_locale": text(customers["locale"]),
            "customer_business": flag(customers["is_business"]),
        }
    )


def payments(inputs: DunningInputs, tz: str) -> pd.DataFrame:
    """Payments with the invoice they pay (through Stripe's invoice_payments when the
    charge does not name it), the person, and the business day they happened."""
    pay = inputs.table("payments")
    links = inputs.table("invoice_payments")
    by_charge = _first(links, "charge_id", "invoice_id")
    by_intent = _first(links, "payment_intent_id", "invoice_id")
    out = pd.DataFrame(
        {
            "payment_id": text(pay["payment_id"]),
            "provider": text(pay["provider"]),
            "customer_id": text(pay["customer_id"]),
            "subscription_id": text(pay["subscription_id"]),
            "amount": whole(pay["amount"]),
            "currency": text(pay["currency"]).str.upper(),
            "status": text(pay["status"]),
            "failure_code": text(pay["failure_code"]),
            "decline_code": text(pay["decline_code"]),
            "payment_method_type": text(pay["payment_method_type"]),
            "mandate_id": text(pay["mandate_id"]),
            "created_at": instant(pay["created_at"]),
        }
    )
    invoice = text(pay["invoice_id"])
    invoice = invoice.fillna(out["payment_id"].map(by_charge).astype("string"))
    by_pi = text(pay["payment_intent_id"]).map(by_intent).astype("string")
    out["invoice_id"] = invoice.fillna(by_pi)
    created = local_day(pay["created_at"], tz)
    out["day"] = local_day(pay["failed_at"], tz).fillna(day(pay["charge_date"])).fillna(created)
    out["paid_day"] = local_day(pay["paid_at"], tz).fillna(day(pay["charge_date"]))
    out["paid_day"] = out["paid_day"].fillna(created)
    who = persons(inputs)[["customer_id", "person"]]
    out = out.merge(who, on="customer_id", how="left")
    out["person"] = out["person"].fillna(out["customer_id"])
    return out


def _first(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    rows = frame[[key, value]].dropna()
    return text(rows[value]).groupby(text(rows[key])).first()


def build(
    inputs: DunningInputs, policy: DunningPolicy, as_of: date, pay: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(items owed tonight, closed): ``closed`` maps every item id known to be no longer
    owed to its reason (``paid``, ``void``, ``uncollectible``, ``payment_pending``,
    ``cancelled``), for withdrawing notices still waiting in the outbox. ``pay`` is
    :func:`payments` of the same inputs."""
    who = persons(inputs)
    invoices, closed_invoices = _invoice_items(inputs, pay, as_of)
    failed, closed_payments = _payment_items(pay)
    items = pd.concat([invoices, failed], ignore_index=True)
    items = _settled_elsewhere(items, pay, who)
    closed = pd.concat(
        [
            closed_invoices,
            closed_payments,
            items.loc[items["settled"], ["item_id"]].assign(reason="paid"),
        ],
        ignore_index=True,
    ).drop_duplicates("item_id")
    items = items[~items["settled"]].drop(columns="settled")
    items = items.merge(who, on="customer_id", how="left")
    items = _describe(items, inputs, policy, as_of)
    return items[[*ITEM_COLUMNS, "person", "name"]].reset_index(drop=True), closed


def _invoice_items(
    inputs: DunningInputs, pay: pd.DataFrame, as_of: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    inv = inputs.table("invoices").drop_duplicates("invoice_id", keep="last")
    status = text(inv["status"])
    remaining = whole(inv["amount_remaining"])
    ids = text(inv["invoice_id"])
    closed = pd.DataFrame({"item_id": ids, "reason": status})
    closed = closed[status.isin(["paid", "void", "uncollectible"])]
    linked = pay[pay["invoice_id"].notna()]
    paid_ids = set(linked.loc[linked["status"].isin(PAID), "invoice_id"])
    links = inputs.table("invoice_payments")
    paid_ids |= set(text(links.loc[text(links["status"]) == "paid", "invoice_id"]).dropna())
    pending_ids = set(linked.loc[linked["status"] == "pending", "invoice_id"])
    is_open = (status == "open") & remaining.gt(0).fillna(False)
    paid = is_open & ids.isin(paid_ids)
    pending = is_open & ~paid & ids.isin(pending_ids)
    zero = (status == "open") & ~remaining.gt(0).fillna(False)
    closed = pd.concat(
        [
            closed,
            pd.DataFrame({"item_id": ids[paid | zero], "reason": "paid"}),
            pd.DataFrame({"item_id": ids[pending], "reason": "payment_pending"}),
        ]
    )
    keep = inv[is_open & ~paid & ~pending]
    failures = linked[linked["status"].isin(FAILED)].sort_values("created_at", kind="stable")
    last_failure = failures.drop_duplicates("invoice_id", keep="last").set_index("invoice_id")
    last_any = linked.sort_values("created_at", kind="stable").drop_duplicates(
        "invoice_id", keep="last"
    )
    method_type = last_any.set_index("invoice_id")["payment_method_type"]
    invoice_ids = text(keep["invoice_id"])
    due = day(keep["due_on"]).fillna(day(keep["issued_on"]))
    due = due.fillna(local_day(keep["created_at"], "UTC"))
    items = pd.DataFrame(
        {
            "item_id": invoice_ids,
            "kind": "invoice",
            "invoice_id": invoice_ids,
            "payment_id": invoice_ids.map(last_failure["payment_id"]).astype("string"),
            "customer_id": text(keep["customer_id"]),
            "subscription_id": text(keep["subscription_id"]),
            "provider": text(keep["provider"]),
            "amount": whole(keep["amount_remaining"]),
            "currency": text(keep["currency"]).str.upper(),
            "due_day": due,
            "issued_day": day(keep["issued_on"]).fillna(due),
            "number": text(keep["number"]),
            "hosted_invoice_url": text(keep["hosted_invoice_url"]),
            "invoice_business": flag(keep["is_business"]),
            "invoice_country": text(keep["customer_country"]).str.upper(),
            "collection_method": text(keep["collection_method"]),
            "method_type": invoice_ids.map(method_type).astype("string"),
            "mandate_id": invoice_ids.map(last_failure["mandate_id"]).astype("string"),
            "payment_status": invoice_ids.map(last_failure["status"]).astype("string"),
            "failure_code": invoice_ids.map(last_failure["failure_code"]).astype("string"),
            "decline_code": invoice_ids.map(last_failure["decline_code"]).astype("string"),
            "total": whole(keep["total"]),
            "since": instant(keep["created_at"]),
        }
    )
    return items, closed


def _payment_items(pay: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Failed collections with no invoice (GoCardless subscriptions and instalments)."""
    unbilled = pay["invoice_id"].isna() & (
        (pay["provider"] == "gocardless") | pay["subscription_id"].notna()
    )
    failed = pay[unbilled & pay["status"].isin(FAILED)]
    # A later one-off payment of the same amount by the same customer ends the failure
    # (the shop collected it again by hand). The subscription's next regular collection
    # does not: it pays the next period, and the failed one is still owed. A retried
    # GoCardless debit keeps its payment id, so its own status says when it is paid.
    ok = pay[pay["status"].isin(PAID) & pay["subscription_id"].isna()]
    keys = ["customer_id", "amount", "currency"]
    later = failed[["payment_id", *keys, "created_at"]].merge(
        ok[[*keys, "created_at"]], on=keys, suffixes=("", "_ok")
    )
    recovered = set(later.loc[later["created_at_ok"] > later["created_at"], "payment_id"])
    reason = pay["status"].map(
        {s: "paid" for s in PAID} | {"pending": "payment_pending", "cancelled": "cancelled"}
    )
    closed = pd.DataFrame({"item_id": pay.loc[unbilled, "payment_id"], "reason": reason[unbilled]})
    closed = pd.concat(
        [closed.dropna(), pd.DataFrame({"item_id": sorted(recovered), "reason": "paid"})]
    )
    keep = failed[~failed["payment_id"].isin(recovered)]
    items = pd.DataFrame(
        {
            "item_id": keep["payment_id"],
            "kind": "payment",
            "invoice_id": pd.Series(pd.NA, index=keep.index, dtype="string"),
            "payment_id": keep["payment_id"],
            "customer_id": keep["customer_id"],
            "subscription_id": keep["subscription_id"],
            "provider": keep["provider"],
            "amount": keep["amount"],
            "currency": keep["currency"],
            "due_day": keep["day"],
            "issued_day": keep["day"],
            "method_type": keep["payment_method_type"],
            "mandate_id": keep["mandate_id"],
            "payment_status": keep["status"],
            "failure_code": keep["failure_code"],
            "decline_code": keep["decline_code"],
            "total": keep["amount"],
            "since": keep["created_at"],
        }
    )
    return items, closed


def _settled_elsewhere(items: pd.DataFrame, pay: pd.DataFrame, who: pd.DataFrame) -> pd.DataFrame:
    """Flag items the same person paid through the other provider (same amount and
    currency, on or after the item's day)."""
    items = items.reset_index(drop=True)
    people = who[["customer_id", "person"]]
    owner = items[["customer_id"]].merge(people, on="customer_id", how="left")["person"]
    items["person_key"] = owner.fillna(items["customer_id"]).to_numpy()
    paid = pay[pay["status"].isin(PAID)][["person", "provider", "amount", "currency", "day"]]
    paid = paid.rename(columns={"person": "person_key", "provider": "paid_by", "day": "paid_on"})
    matches = []
    for amount in ("amount", "total"):
        probe = items[["item_id", "person_key", "provider", "currency", amount, "issued_day"]]
        probe = probe.rename(columns={amount: "amount"}).dropna(subset=["amount"])
        hit = probe.merge(paid, on=["person_key", "currency", "amount"])
        hit = hit[(hit["paid_by"] != hit["provider"]) & (hit["paid_on"] >= hit["issued_day"])]
        matches.append(hit["item_id"])
    settled = set(pd.concat(matches)) if matches else set()
    items["settled"] = items["item_id"].isin(settled)
    return items.drop(columns="person_key")


def _describe(
    items: pd.DataFrame, inputs: DunningInputs, policy: DunningPolicy, as_of: date
) -> pd.DataFrame:
    """Days overdue, country, language, B2B and payment method of each item."""
    out = items.copy()
    out["days_overdue"] = (stamp(as_of) - out["due_day"]).dt.days.astype("Int64")
    out["is_business"] = out["customer_business"].fillna(False).astype(bool) | out[
        "invoice_business"
    ].fillna(False).astype(bool)
    out["country"] = out["customer_country"].fillna(out["invoice_country"])
    language = out["customer_locale"].str.lower().str[:2]
    by_country = out["country"].map(policy.locales.by_country).astype("string")
    out["locale"] = (
        language.where(language.isin(["fr", "en"]))
        .fillna(by_country)
        .fillna(policy.locales.default)
    )
    subs = inputs.table("subscriptions").drop_duplicates("subscription_id", keep="last")
    sub_type = text(subs["payment_method_type"]).groupby(text(subs["subscription_id"])).first()
    method_type = out["method_type"].astype("string")
    method_type = method_type.fillna(out["subscription_id"].map(sub_type).astype("string"))
    automatic = out["collection_method"].fillna("charge_automatically") == "charge_automatically"
    method = pd.Series("other", index=out.index, dtype="string")
    method = method.mask(automatic | (method_type == "card"), "card")
    method = method.mask(method_type.isin(DEBIT_TYPES), "direct_debit")
    method = method.mask(method_type.notna() & ~method_type.isin(DEBIT_TYPES | {"card"}), "other")
    method = method.mask(out["provider"] == "gocardless", "direct_debit")
    out["method"] = method
    return out
