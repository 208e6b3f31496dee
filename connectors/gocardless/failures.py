"""Which GoCardless SDK exceptions are worth another attempt.

Retried: a 429 (``RateLimitError``, waiting for ``RateLimit-Reset``), a 5xx
(``GoCardlessInternalError``), a malformed answer (a proxy's HTML error page),
a timeout or a connection error. The payment retry is a POST, retried only with
the caller's idempotency key, which GoCardless replays. Everything else (401,
403, 404, 422 validation) is final.
"""

from __future__ import annotations

import requests
from gocardless_pro import errors

from connectors.retry import Failure


def classify(exc: Exception) -> Failure | None:
    """A :class:`Failure` for a GoCardless SDK (or ``requests``) exception, else ``None``."""
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return Failure(message="connection failed or timed out", retryable=True)
    headers = dict(getattr(exc, "http_headers", None) or {})
    status = getattr(exc, "http_status", None)
    if isinstance(exc, errors.MalformedResponseError):
        status = status or exc.status_code
        return Failure(
            message="malformed answer from GoCardless",
            retryable=status is None or status >= 500 or status == 429,
            status=status,
            headers=headers,
        )
    if isinstance(exc, errors.ApiError):
        status = status or (exc.code if isinstance(exc.code, int) else None)
        reasons = [e.get("reason") for e in exc.errors or [] if isinstance(e, dict)]
        code = next((r for r in reasons if r), None) or exc.type
        return Failure(
            message=str(exc.message or type(exc).__name__),
            retryable=status is not None and (status == 429 or status >= 500),
            status=status,
            code=code,
            headers=headers,
        )
    if isinstance(exc, errors.GoCardlessProError):
        return Failure(message=str(exc), retryable=False)
    return None
