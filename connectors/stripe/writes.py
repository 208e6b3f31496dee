"""The Stripe writes dunning and renewals make, each under the caller's idempotency key.

The key comes from the business decision (``dunning:in_123:2``), not from a
UUID drawn per call: a retried task, a re-run flow or a retry after a dropped
connection sends the same key, and Stripe answers the repeat with the first
answer instead of charging twice.

A card decline is an outcome, not an error: ``pay_invoice`` returns
``PaymentOutcome(status="declined", decline_code="insufficient_funds", ...)``
and the dunning ladder decides what comes next. Anything else that stops a
write (a 404, an invoice already paid, an auth failure) is a
:class:`~connectors.errors.ConnectorError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import stripe

from connectors.errors import redact
from connectors.stripe.failures import error_body

PAUSE_BEHAVIORS = ("keep_as_draft", "mark_uncollectible", "void")
T = TypeVar("T")


@dataclass(frozen=True)
class PaymentOutcome:
    """What one ``POST /v1/invoices/{id}/pay`` came to."""

    status: Literal["paid", "declined"]
    invoice_id: str
    invoice: dict[str, Any] | None = None
    charge_id: str | None = None
    error_code: str | None = None
    decline_code: str | None = None
    message: str | None = None

    @property
    def paid(self) -> bool:
        return self.status == "paid"


def plain(obj: stripe.StripeObject) -> dict[str, Any]:
    """The object as the API sent it: JSON-compatible dicts all the way down."""
    response = obj.last_response
    if response is not None and response.body:
        return json.loads(response.body)  # type: ignore[no-any-return]
    return obj.to_dict(recursive=True, for_json=True)


class StripeWrites:
    """Write calls; mixed into :class:`~connectors.stripe.connector.StripeConnector`."""

    _client: stripe.StripeClient
    _api_key: str

    def _call(self, stream: str, call: Callable[[], T]) -> T:
        """One request under the retry policy and rate limit (the connector provides it)."""
        raise NotImplementedError

    @staticmethod
    def _options(idempotency_key: str) -> stripe.RequestOptions:
        if not idempotency_key or len(idempotency_key) > 255:
            raise ValueError("an idempotency key of 1 to 255 characters is required")
        return {"idempotency_key": idempotency_key}

    def pay_invoice(
        self, invoice_id: str, idempotency_key: str, *, payment_method: str | None = None
    ) -> PaymentOutcome:
        """Attempt to collect an open invoice now; a decline is returned, not raised."""
        options = self._options(idempotency_key)
        params: dict[str, Any] = {"payment_method": payment_method} if payment_method else {}

        def call() -> PaymentOutcome:
            try:
                invoice = self._client.v1.invoices.pay(invoice_id, params, options)  # type: ignore[arg-type]
            except stripe.CardError as exc:
                error = error_body(exc)
                return PaymentOutcome(
                    status="declined",
                    invoice_id=invoice_id,
                    charge_id=error.get("charge"),
                    error_code=error.get("code") or exc.code,
                    decline_code=error.get("decline_code"),
                    message=redact(str(error.get("message") or ""), (self._api_key,)) or None,
                )
            return PaymentOutcome(status="paid", invoice_id=invoice_id, invoice=plain(invoice))

        return self._call("invoices.pay", call)

    def pause_collection(
        self,
        subscription_id: str,
        behavior: str | None,
        idempotency_key: str,
        *,
        resumes_at: int | None = None,
    ) -> dict[str, Any]:
        """Pause collection (``behavior`` one of :data:`PAUSE_BEHAVIORS`), or resume (``None``)."""
        if behavior is not None and behavior not in PAUSE_BEHAVIORS:
            raise ValueError(f"behavior must be one of {PAUSE_BEHAVIORS} or None")
        pause: Any = ""
        if behavior is not None:
            pause = {"behavior": behavior}
            if resumes_at is not None:
                pause["resumes_at"] = resumes_at
        return self._update_subscription(
            subscription_id, {"pause_collection": pause}, idempotency_key
        )

    def cancel_at_period_end(
        self, subscription_id: str, idempotency_key: str, *, cancel: bool = True
    ) -> dict[str, Any]:
        """Cancel at the end of the current period (``cancel=False`` takes it back)."""
        return self._update_subscription(
            subscription_id, {"cancel_at_period_end": cancel}, idempotency_key
        )

    def cancel_subscription(
        self,
        subscription_id: str,
        idempotency_key: str,
        *,
        invoice_now: bool | None = None,
        prorate: bool | None = None,
    ) -> dict[str, Any]:
        """Cancel now (``DELETE /v1/subscriptions/{id}``)."""
        options = self._options(idempotency_key)
        params: dict[str, Any] = {}
        if invoice_now is not None:
            params["invoice_now"] = invoice_now
        if prorate is not None:
            params["prorate"] = prorate

        def call() -> dict[str, Any]:
            return plain(self._client.v1.subscriptions.cancel(subscription_id, params, options))  # type: ignore[arg-type]

        return self._call("subscriptions.cancel", call)

    def mark_uncollectible(self, invoice_id: str, idempotency_key: str) -> dict[str, Any]:
        """Write an open invoice off as uncollectible."""
        options = self._options(idempotency_key)

        def call() -> dict[str, Any]:
            return plain(self._client.v1.invoices.mark_uncollectible(invoice_id, None, options))

        return self._call("invoices.mark_uncollectible", call)

    def _update_subscription(
        self, subscription_id: str, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        options = self._options(idempotency_key)

        def call() -> dict[str, Any]:
            return plain(self._client.v1.subscriptions.update(subscription_id, params, options))  # type: ignore[arg-type]

        return self._call("subscriptions.update", call)
