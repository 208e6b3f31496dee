"""SendGrid mail/send, one recipient per request, with an outcome the outbox can act on.

SendGrid takes no idempotency key, so the notifications outbox decides what a
send means (``reference/provider-apis.md`` §4):

=====================================  ==========  =================================
answer                                  status      the outbox then
=====================================  ==========  =================================
2xx (``X-Message-Id``)                  ``sent``     stores the message id
4xx other than 429                      ``failed``   marks it failed (fix the data)
429 or 5xx                              ``retry``    reschedules (after ``retry_after``)
connection refused (nothing sent)       ``retry``    reschedules
timeout / reset after the request left  ``unknown``  reconciles from SendGrid's events;
                                                     never re-sends blindly
=====================================  ==========  =================================

One recipient per request: a timeout on a 1000-recipient call would make 1000
e-mails ambiguous. ``sandbox_mode`` asks SendGrid to validate only (200,
nothing delivered). Errors and logs never quote the recipient's address.

Header injection is refused here, before the request: a value that becomes a mail header
(subject, a sender's or recipient's address or display name, reply-to, custom headers,
custom args, categories) with a CR, LF or any other control character (or a line or
paragraph separator) could start a header of its own (``Jane\r\nBcc: x@evil.example``),
and an address with spaces, commas, semicolons or angle brackets could add a recipient.
:func:`header_problem` names the field and the character, never the value, and
:meth:`SendGridConnector.send` answers ``failed`` without sending: the outbox records the
reason and goes on with the next notice.

One connector may be shared by threads (the outbox sends with a few at once), but the
SDK's client may not: python_http_client's clients share one headers dict that every
request mutates (``setdefault("Content-Type", …)``) while another request iterates over
it to build its own, so each thread gets its own ``SendGridAPIClient``, built on its first
request. Every thread still takes its tokens from the account's one shared bucket, and a
429 holds them all (:mod:`connectors.ratelimit`).
"""

from __future__ import annotations

import copy
import http.client
import json
import logging
import socket
import threading
import time
import unicodedata
import urllib.error
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Mail

from connectors.errors import redact
from connectors.ratelimit import SENDGRID_RATE, RateLimiter, shared_limiter
from connectors.retry import header_wait, lower_headers

PROVIDER = "sendgrid"
DEFAULT_TIMEOUT_S = 30.0
SendStatus = Literal["sent", "failed", "retry", "unknown"]


class _NoPayloadLogs(logging.Filter):
    """python_http_client logs request headers (the key) and bodies (addresses) at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not message.startswith(("HEADERS:", "PAYLOAD:"))


_SDK_LOGGER = logging.getLogger("python_http_client.client")
if not any(isinstance(f, _NoPayloadLogs) for f in _SDK_LOGGER.filters):
    _SDK_LOGGER.addFilter(_NoPayloadLogs())


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    message_id: str | None = None
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None


def _recipients(body: dict[str, Any]) -> int:
    return sum(
        len(person.get(kind) or [])
        for person in body.get("personalizations") or []
        for kind in ("to", "cc", "bcc")
    )


# Characters no header may hold: every control character (Cc: CR, LF, tab, NUL, DEL, NEL
# and the C1 range) and the Unicode line and paragraph separators (Zl, Zp).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
# Characters no bare address may hold: they would separate or quote another address.
_ADDRESS_SEPARATORS = frozenset(' ,;<>()[]"\\')


def _unsafe_char(value: str) -> str | None:
    """``U+000A``-style name of the first character of ``value`` no header may hold."""
    for char in value:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def _person_fields(where: str, person: Any) -> Iterator[tuple[str, Any, bool]]:
    """(field, value, is_address) of one ``{"email": …, "name": …}``."""
    if isinstance(person, dict):
        yield f"{where}.email", person.get("email"), True
        yield f"{where}.name", person.get("name"), False


def _header_fields(body: dict[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """Every value of a mail/send body that ends up in a header of the mail sent."""
    yield "subject", body.get("subject"), False
    for name in ("from", "reply_to"):
        yield from _person_fields(name, body.get(name))
    for i, person in enumerate(body.get("reply_to_list") or []):
        yield from _person_fields(f"reply_to_list[{i}]", person)
    for where, headers in [("headers", body.get("headers"))] + [
        (f"personalizations[{i}].headers", p.get("headers"))
        for i, p in enumerate(body.get("personalizations") or [])
        if isinstance(p, dict)
    ]:
        for key, value in (headers or {}).items():
            yield f"{where} name", key, False
            yield f"{where}[{key!r}]", value, False
    for key, value in (body.get("custom_args") or {}).items():
        yield f"custom_args[{key!r}]", value, False
    for i, category in enumerate(body.get("categories") or []):
        yield f"categories[{i}]", category, False
    for i, person in enumerate(body.get("personalizations") or []):
        if not isinstance(person, dict):
            continue
        yield f"personalizations[{i}].subject", person.get("subject"), False
        for kind in ("to", "cc", "bcc"):
            for j, recipient in enumerate(person.get(kind) or []):
                yield from _person_fields(f"{kind}[{j}]", recipient)


def header_problem(body: dict[str, Any]) -> str | None:
    """Why ``body`` must not be sent (header injection), or ``None`` when it is safe.

    The reason names the field and the offending character, never the value (it may be
    the customer's address): ``to[0].name contains a control character (U+000A)``.
    """
    for where, value, is_address in _header_fields(body):
        if value is None:
            continue
        text = str(value)
        bad = _unsafe_char(text)
        if bad is not None:
            return f"{where} contains a control character ({bad})"
        if is_address:
            separator = next((c for c in text if c in _ADDRESS_SEPARATORS), None)
            if separator is not None:  # the rest of an address's form is SendGrid's 400
                return f"{where} contains {separator!r}, which no single address holds"
    return None


def _error_text(raw: Any) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
    return text[:500]


class SendGridConnector:
    """One SendGrid API key."""

    provider = PROVIDER

    def __init__(
        self,
        api_key: str,
        host: str = "https://api.sendgrid.com",
        *,
        sandbox_mode: bool = False,
        timeout: float = DEFAULT_TIMEOUT_S,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key:
            raise ValueError("a SendGrid API key is required")
        self._api_key = api_key
        self.host = host.rstrip("/")
        self.sandbox_mode = sandbox_mode
        self.timeout = timeout
        self._limiter = limiter or shared_limiter(PROVIDER, self.host, api_key, SENDGRID_RATE)
        self._clock = clock
        self._local = threading.local()

    @property
    def _client(self) -> SendGridAPIClient:
        """This thread's SDK client (the SDK's clients are not safe to share; module doc)."""
        client: SendGridAPIClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = SendGridAPIClient(api_key=self._api_key, host=self.host)
        return client

    def __repr__(self) -> str:  # never the key
        return f"SendGridConnector(host={self.host!r}, sandbox_mode={self.sandbox_mode})"

    def _body(self, message: Mail | dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(message.get() if isinstance(message, Mail) else message)
        if _recipients(body) != 1:
            raise ValueError("one recipient per request (to + cc + bcc must be exactly 1)")
        if self.sandbox_mode:
            settings = body.setdefault("mail_settings", {})
            settings["sandbox_mode"] = {"enable": True}
        return dict(body)

    def send(self, message: Mail | dict[str, Any]) -> SendResult:
        """Send one message (a ``Mail`` or its JSON body); never raises for an HTTP outcome.

        A message that fails :func:`header_problem` is ``failed`` and never sent.

        In ``sandbox_mode`` SendGrid answers 200 without a message id: ``sent``
        means "valid", and nothing was delivered.
        """
        body = self._body(message)
        problem = header_problem(body)
        if problem is not None:  # header injection: refused before anything leaves
            return SendResult("failed", error=f"refused, not sent: {problem}")
        self._limiter.acquire()
        try:
            response = self._client.client.mail.send.post(request_body=body, timeout=self.timeout)
        except http_errors.HTTPError as exc:
            return self._http_failure(exc)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
                return SendResult("retry", error=f"not sent: {type(exc.reason).__name__}")
            return SendResult("unknown", error=f"no answer: {type(exc.reason).__name__}")
        except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
            return SendResult("unknown", error=f"no answer: {type(exc).__name__}")
        headers = lower_headers(dict(response.headers.items()) if response.headers else {})
        return SendResult(
            "sent", message_id=headers.get("x-message-id"), http_status=response.status_code
        )

    def find_sent(self, custom_arg: str, value: str) -> list[str] | None:
        """Message ids SendGrid's Email Activity feed holds for mails sent with
        ``custom_args[custom_arg] == value``; ``None`` when the feed cannot be asked (an
        HTTP error, no answer). This is how an ``unknown`` send is resolved: found means
        it left; an empty list after the feed's delay means it never arrived."""
        query = f"unique_args['{custom_arg}']=\"{value}\""
        self._limiter.acquire()
        try:
            response = self._client.client.messages.get(
                query_params={"query": query, "limit": 10}, timeout=self.timeout
            )
        except (http_errors.HTTPError, urllib.error.URLError, OSError, http.client.HTTPException):
            return None
        try:
            body = json.loads(response.body or b"{}")
        except ValueError:
            return None
        return [str(m["msg_id"]).split(".")[0] for m in body.get("messages") or []]

    def _http_failure(self, exc: http_errors.HTTPError) -> SendResult:
        status = int(exc.status_code)
        error = redact(_error_text(exc.body), (self._api_key,))
        if status == 429 or status >= 500:
            headers = lower_headers(dict(exc.headers.items()) if exc.headers else {})
            wait = header_wait(headers, self._clock())
            if status == 429 and wait is not None:
                self._limiter.hold(wait)
            return SendResult("retry", http_status=status, error=error, retry_after=wait)
        return SendResult("failed", http_status=status, error=error)
