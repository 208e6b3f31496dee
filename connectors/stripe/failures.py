"""Which Stripe SDK exceptions are worth another attempt.

Retried: a 429 (``RateLimitError``; Stripe sends no ``Retry-After``, so this is
exponential backoff with jitter), a 409 (lock timeout or a concurrent request
with the same idempotency key), any 5xx, and a connection error or timeout
(``APIConnectionError``). Writes are retried too: each carries the caller's
idempotency key, so Stripe answers a repeat with the first answer.
Everything else (401, 403, 404, 400) is final.
"""

from __future__ import annotations

from typing import Any

import stripe

from connectors.retry import Failure, lower_headers

RETRY_STATUSES = frozenset({409, 429})


def error_body(exc: stripe.StripeError) -> dict[str, Any]:
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error")
    return dict(error) if isinstance(error, dict) else {}


def classify(exc: Exception) -> Failure | None:
    """A :class:`Failure` for a Stripe SDK exception, ``None`` for anything else."""
    if isinstance(exc, stripe.APIConnectionError):
        return Failure(message="connection failed or timed out", retryable=True)
    if not isinstance(exc, stripe.StripeError):
        return None
    status = exc.http_status
    error = error_body(exc)
    code = error.get("code") or exc.code
    retryable = status is not None and (status in RETRY_STATUSES or status >= 500)
    message = str(error.get("message") or exc.user_message or type(exc).__name__)
    return Failure(
        message=message,
        retryable=retryable,
        status=status,
        code=str(code) if code else None,
        headers=lower_headers(exc.headers),
    )
