"""``POST /payments/{id}/actions/retry``: GoCardless's rules for retrying a payment.

GoCardless retries only a ``failed`` payment whose mandate is ``active``, and at
most 3 times; anything else is a 422 ``invalid_state``. A retry sets the payment
back to ``pending_submission`` with a new charge date (the one asked for, else
the next working day) and appends a ``resubmission_requested`` event whose
``details.origin`` is ``api``; the request's ``metadata`` goes on that event.
Retries are counted from those events, so a scenario's own history counts too.

Example: PM1 failed on 2026-06-30 (a Tuesday) with an active mandate ->
``retry`` -> PM1 ``pending_submission``, ``charge_date`` 2026-07-01, event
``EV…`` (payments / resubmission_requested / links.payment = PM1).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.app import State, json_response
from sandbox.providers import gocardless_errors as errors
from sandbox.render import render_gocardless

PROVIDER = "gocardless"
MAX_RETRIES = 3
# Mandate states GoCardless reports as "failed, cancelled or expired".
_DEAD_MANDATES = frozenset({"failed", "cancelled", "expired", "consumed", "blocked"})


def _gc_id(prefix: str, seed: str) -> str:
    """A GoCardless-style id (prefix + uppercase alphanumerics), stable for one seed."""
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()
    return prefix + digest.replace("=", "")[:12]


def next_working_day(today: date) -> date:
    """The first Monday-to-Friday after ``today`` (bank holidays are not modelled)."""
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _bad_document() -> Response:
    return errors.reasoned(
        400, "invalid_api_usage", "invalid_document_structure", "Invalid document structure"
    )


def _data(request: Request) -> dict[str, Any] | Response:
    raw = request.get_data() or b"null"
    try:
        body = json.loads(raw)
    except ValueError:
        return _bad_document()
    if body is None:  # the SDK sends ``null`` when the caller gives no params
        return {}
    if not isinstance(body, dict):
        return _bad_document()
    data = body.get("data")
    if data is None:
        return {}
    if not isinstance(data, dict):
        return errors.validation_failed("data", "must be an object")
    return data


def retry_count(state: State, payment_id: str) -> int:
    """How many times the payment has been retried (its ``resubmission_requested`` events)."""
    events, _ = state.store.list(
        PROVIDER,
        "events",
        where={
            "resource_type": "payments",
            "action": "resubmission_requested",
            "resource": payment_id,
        },
        limit=MAX_RETRIES + 1,
    )
    return len(events)


def retry(state: State, request: Request, payment_id: str) -> Response:
    """Apply the retry rules; the caller holds ``state.lock``."""
    data = _data(request)
    if isinstance(data, Response):
        return data
    store = state.store
    payment = store.get(PROVIDER, "payments", payment_id)
    if payment is None:
        return errors.not_found()
    if payment.get("status") != "failed":
        return errors.invalid_state(
            "retry_failed",
            f"Only failed payments can be retried (this one is {payment.get('status')})",
        )
    mandate_id = (payment.get("links") or {}).get("mandate")
    mandate = store.get(PROVIDER, "mandates", str(mandate_id)) if mandate_id else None
    mandate_status = (mandate or {}).get("status")
    if mandate_status in _DEAD_MANDATES:
        return errors.invalid_state(
            "mandate_is_inactive", "Mandate is failed, cancelled or expired"
        )
    if mandate_status != "active":
        return errors.invalid_state(
            "retry_failed", "A payment can only be retried when its mandate is active"
        )
    done = retry_count(state, payment_id)
    if done >= MAX_RETRIES:
        return errors.invalid_state(
            "retry_failed", f"This payment has already been retried {MAX_RETRIES} times"
        )
    now = state.clock.now()
    charge_date = data.get("charge_date")
    if charge_date is not None:
        try:
            date.fromisoformat(str(charge_date))
        except ValueError:
            return errors.validation_failed("charge_date", "must be a valid date (YYYY-MM-DD)")
    else:
        charge_date = next_working_day(now.date()).isoformat()
    updated = {**payment, "status": "pending_submission", "charge_date": str(charge_date)}
    store.replace(PROVIDER, "payments", updated)
    event = {
        "id": _gc_id("EV", f"{payment_id}:retry:{done + 1}:{now.isoformat()}"),
        "created_at": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "resource_type": "payments",
        "action": "resubmission_requested",
        "links": {"payment": payment_id},
        "details": {
            "origin": "api",
            "cause": "payment_retried",
            "description": "An attempt to collect this payment was requested.",
            "scheme": payment.get("scheme"),
        },
        "metadata": data.get("metadata") or {},
    }
    store.add(PROVIDER, "events", event)
    return json_response({"payments": render_gocardless("payments", updated)})
