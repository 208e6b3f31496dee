"""One error type for every provider, safe to log, and never an empty result instead.

A sync that got a 403 on ``charges`` and carried on with zero charges would
look complete and be wrong (Airbyte's Stripe source does exactly that). So a
401, 403 or 404, a refused request, and a transient failure that outlived its
retries all raise :class:`ConnectorError`, naming the provider and the stream
so the operator knows what to fix::

    ConnectorError: stripe charges: HTTP 403 (permission_denied): The provided key does not
    have access to this resource.

Messages go through :func:`redact` first: SDK messages can carry a masked key
(``Invalid API Key provided: sk_test_****abcd``) and provider messages can quote
a customer's e-mail address; neither may reach a log line or a Prefect artifact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_KEY_PATTERNS = (
    re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9_*]+"),  # Stripe keys, masked or not
    re.compile(r"\bSG\.[A-Za-z0-9_.\-]+"),  # SendGrid keys
    re.compile(r"\b(?:Bearer|Basic)\s+\S+", re.IGNORECASE),  # authorization headers
    re.compile(r"\*{3,}[A-Za-z0-9_]{0,8}"),  # a masked key without its prefix
    re.compile(r"\b(?:live|sandbox)_[A-Za-z0-9_\-]{16,}"),  # GoCardless access tokens
    re.compile(r"\basat_[A-Za-z0-9_\-]+"),  # AfterShip keys
)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets, anything shaped like a key, or an e-mail address."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    for pattern in _KEY_PATTERNS:
        text = pattern.sub(_REDACTED, text)
    return _EMAIL.sub("[email]", text)


class ConnectorError(Exception):
    """A provider call that cannot give a (complete) answer.

    ``status`` is the HTTP status (``None`` for a connection that never got one),
    ``code`` the provider's own error code (Stripe ``resource_missing``, GoCardless
    ``retry_failed``, AfterShip meta code…), ``retryable`` whether the cause was
    transient (then the retries were exhausted).
    """

    def __init__(
        self,
        provider: str,
        stream: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
        secrets: Iterable[str] = (),
    ) -> None:
        self.provider = provider
        self.stream = stream
        self.status = status
        self.code = code
        self.retryable = retryable
        self.message = redact(message, secrets)
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [f"HTTP {self.status}"] if self.status is not None else []
        if self.code:
            parts.append(f"({self.code})")
        if self.retryable:
            parts.append("[retries exhausted]")
        head = f"{self.provider} {self.stream}: " + (" ".join(parts) + ": " if parts else "")
        return head + self.message

    def __reduce__(self) -> tuple[object, ...]:
        """Picklable (Prefect persists task failures), keeping the redacted text only."""
        return (
            _rebuild,
            (
                type(self),
                self.provider,
                self.stream,
                self.message,
                self.status,
                self.code,
                self.retryable,
            ),
        )


def _rebuild(
    cls: type[ConnectorError],
    provider: str,
    stream: str,
    message: str,
    status: int | None,
    code: str | None,
    retryable: bool,
) -> ConnectorError:
    return cls(provider, stream, message, status=status, code=code, retryable=retryable)


class EventCursorExpired(ConnectorError):
    """The stored event id is past the provider's event retention (Stripe: 30 days).

    The sync must fall back to re-listing the resources (DESIGN §4), then take a
    fresh event cursor.
    """


class MissingCredentials(ConnectorError):
    """The settings carry no key for a provider the run needs."""
