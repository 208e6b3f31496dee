"""SendGrid's ``POST /v3/mail/send``, validating a request as the real one does.

A valid request is accepted with 202, an empty body and an ``X-Message-Id``
header, and recorded (body, message id, sandbox time) in ``state.mail``, which
``GET /__sandbox/sendgrid/messages`` serves in order. With
``mail_settings.sandbox_mode.enable`` SendGrid only validates: 200, nothing sent,
nothing recorded. An invalid one gets 400 ``{"errors": [{"message", "field",
"help"}]}`` listing every problem, with SendGrid's own messages.

Example: ``{"from": {"email": "billing@shop.fr"}, "personalizations": [{"to":
[{"email": "jane@example.com"}]}], "template_id": "d-1"}`` -> 202; the same
without ``template_id`` -> 400 naming ``content`` and ``subject``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from email.utils import parseaddr
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.app import State, json_response

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
RATE_LIMIT = 600  # per minute, reported on a 429
_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

MESSAGES = {
    "from": (
        "The from object must be provided for every email send. It is an object that requires"
        ' the email parameter, but may also contain a name parameter.  e.g. {"email" :'
        ' "example@example.com"}  or {"email" : "example@example.com", "name" : "Example'
        ' Recipient"}.'
    ),
    "from_invalid": "The from email does not contain a valid address.",
    "personalizations": "You must have at least one personalization.",
    "too_many": (
        "The personalization block is limited to 1000 personalizations per API request. You"
        " have provided {n} personalizations. Please consider splitting this into multiple"
        " requests and resending your request."
    ),
    "recipients": "There is a limit of 1000 total recipients (to + cc + bcc) per request.",
    "to": (
        "The to array is required for all personalization objects, and must have at least one"
        " email object with a valid email address."
    ),
    "address": "Does not contain a valid address.",
    "content": (
        "Unless a valid template_id is provided, the content parameter is required. There must"
        " be at least one defined content block. We typically suggest both text/plain and"
        " text/html blocks are included, but only one block is required."
    ),
    "content_value": "The content value must be a string at least one character in length.",
    "subject": (
        "The subject is required. You can get around this requirement if you use a template"
        " with a subject defined or if every personalization has a subject defined."
    ),
    "custom_arg": "Invalid type. Expected: string, given: {kind}.",
}


def _err(message: str, field: str | None, anchor: str) -> dict[str, Any]:
    return {"message": message, "field": field, "help": _HELP + anchor}


def _errors_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"errors": [{"field": None, "message": message}]}, status, headers)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def _valid_address(entry: Any) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("email"), str):
        return False
    return bool(_EMAIL.match(parseaddr(entry["email"])[1] or ""))


def _check_custom_args(args: Any, prefix: str) -> list[dict[str, Any]]:
    if not isinstance(args, dict):
        return []
    return [
        _err(
            MESSAGES["custom_arg"].format(kind=_kind(v)), f"{prefix}custom_args.{k}", "custom_args"
        )
        for k, v in args.items()
        if not isinstance(v, str)
    ]


def _check_personalizations(body: dict[str, Any]) -> list[dict[str, Any]]:
    people = body.get("personalizations")
    if not isinstance(people, list) or not people:
        return [_err(MESSAGES["personalizations"], "personalizations", "personalizations")]
    if len(people) > MAX_PERSONALIZATIONS:
        message = MESSAGES["too_many"].format(n=len(people))
        return [_err(message, "personalizations", "personalizations")]
    found: list[dict[str, Any]] = []
    total = 0
    for i, person in enumerate(people):
        person = person if isinstance(person, dict) else {}
        to = person.get("to")
        if not isinstance(to, list) or not to:
            found.append(_err(MESSAGES["to"], f"personalizations.{i}.to", "personalizations.to"))
        for kind in ("to", "cc", "bcc"):
            entries = person.get(kind) if isinstance(person.get(kind), list) else []
            total += len(entries)
            for j, entry in enumerate(entries):
                if not _valid_address(entry):
                    field = f"personalizations.{i}.{kind}.{j}.email"
                    found.append(_err(MESSAGES["address"], field, f"personalizations.{kind}"))
        found += _check_custom_args(person.get("custom_args"), f"personalizations.{i}.")
    if total > MAX_RECIPIENTS:
        found.append(_err(MESSAGES["recipients"], "personalizations", "personalizations"))
    return found


def validate(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every problem SendGrid would report for this mail/send body (empty: valid)."""
    found: list[dict[str, Any]] = []
    sender = body.get("from")
    if not isinstance(sender, dict) or not sender.get("email"):
        found.append(_err(MESSAGES["from"], "from.email", "from"))
    elif not _valid_address(sender):
        found.append(_err(MESSAGES["from_invalid"], "from.email", "from"))
    found += _check_personalizations(body)
    template = body.get("template_id")
    content = body.get("content")
    if not template:
        if not isinstance(content, list) or not content:
            found.append(_err(MESSAGES["content"], "content", "content"))
        people = body.get("personalizations")
        every_has_subject = isinstance(people, list) and all(
            isinstance(p, dict) and p.get("subject") for p in people
        )
        if not body.get("subject") and not every_has_subject:
            found.append(_err(MESSAGES["subject"], "subject", "subject"))
    if isinstance(content, list):
        for i, block in enumerate(content):
            value = block.get("value") if isinstance(block, dict) else None
            if not isinstance(value, str) or not value:
                found.append(_err(MESSAGES["content_value"], f"content.{i}.value", "content"))
    found += _check_custom_args(body.get("custom_args"), "")
    return found


_QUERY = re.compile(
    r"(?P<field>msg_id|to_email|subject|unique_args\['(?P<arg>[^']+)'\])"
    r'\s*=\s*"(?P<value>[^"]*)"'
)


def _activity_row(record: dict[str, Any]) -> dict[str, Any]:
    body = record["body"]
    to = ((body.get("personalizations") or [{}])[0].get("to") or [{}])[0].get("email")
    return {
        "from_email": (body.get("from") or {}).get("email"),
        "msg_id": f"{record['message_id']}.filterdrecv-0",
        "subject": body.get("subject") or "",
        "to_email": to,
        "status": "delivered",
        "opens_count": 0,
        "clicks_count": 0,
        "last_event_time": record["received_at"],
    }


def _activity_matches(record: dict[str, Any], row: dict[str, Any], wanted: re.Match[str]) -> bool:
    value = wanted["value"]
    if wanted["arg"] is not None:
        body = record["body"]
        args = dict(body.get("custom_args") or {})
        for person in body.get("personalizations") or []:
            args.update(person.get("custom_args") or {})
        return str(args.get(wanted["arg"])) == value
    field_name = wanted["field"]
    if field_name == "msg_id":
        return str(row["msg_id"]).startswith(value)
    return str(row[field_name]) == value


class SendGridAPI:
    """The ``Provider`` for SendGrid: ``Bearer SG.…`` keys, mail/send, its error bodies."""

    name = "sendgrid"

    def __init__(self, state: State) -> None:
        self.state = state

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization")
        if header is None:
            return _errors_response(401, "authorization required")
        key = header.removeprefix("Bearer ").strip()
        if not header.startswith("Bearer ") or not key.startswith("SG.") or len(key) < 4:
            return _errors_response(
                401, "The provided authorization grant is invalid, expired, or revoked"
            )
        return None

    def error(self, status: int, retry_after_s: float | None = None) -> Response:
        if status == 429:
            reset = self.state.clock.epoch() + max(1, round(retry_after_s or 1))
            headers = {
                "X-RateLimit-Limit": str(RATE_LIMIT),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            }
            return _errors_response(429, "too many requests", headers)
        if status == 401:
            return _errors_response(
                401, "The provided authorization grant is invalid, expired, or revoked"
            )
        if status >= 500:
            return _errors_response(status, "internal server error")
        return _errors_response(status, "Bad Request")

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") == "/v3/messages" and request.method == "GET":
            return self._activity(request)
        if request.path.rstrip("/") != "/v3/mail/send":
            return _errors_response(404, "not found")
        if request.method != "POST":
            return _errors_response(405, "method not allowed")
        try:
            body = json.loads(request.get_data() or b"")
        except ValueError:
            return json_response(
                {"errors": [_err("Bad Request", None, "body")]},
                400,
            )
        if not isinstance(body, dict):
            return json_response({"errors": [_err("Bad Request", None, "body")]}, 400)
        problems = validate(body)
        if problems:
            return json_response({"errors": problems}, 400)
        sandbox_mode = ((body.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable")
        if sandbox_mode:
            return Response(b"", status=200)
        with self.state.lock:
            message_id = self._message_id(len(self.state.mail))
            self.state.mail.append(
                {
                    "message_id": message_id,
                    "received_at": self.state.clock.now().isoformat(),
                    "body": body,
                }
            )
        return Response(b"", status=202, headers={"X-Message-Id": message_id})

    def _activity(self, request: Request) -> Response:
        """``GET /v3/messages``, the Email Activity feed: the most recent messages first,
        filtered by one ``query`` clause — ``msg_id``, ``to_email``, ``subject`` or
        ``unique_args['name']`` (the v3 ``custom_args``) ``="value"``."""
        try:
            limit = int(request.args.get("limit", "10"))
        except ValueError:
            return _errors_response(400, "limit must be an integer")
        if not 1 <= limit <= 1000:
            return _errors_response(400, "limit must be between 1 and 1000")
        query = request.args.get("query", "").strip()
        wanted = _QUERY.fullmatch(query) if query else None
        if query and wanted is None:
            return _errors_response(400, "invalid query")
        with self.state.lock:
            records = list(reversed(self.state.mail))
        found = []
        for record in records:
            row = _activity_row(record)
            if wanted is not None and not _activity_matches(record, row, wanted):
                continue
            found.append(row)
            if len(found) >= limit:
                break
        return json_response({"messages": found})

    def _message_id(self, n: int) -> str:
        """A 22-character id like SendGrid's, stable for a seed and a position in the log."""
        digest = hashlib.sha256(f"{self.state.seed}:{n}".encode()).digest()
        return base64.urlsafe_b64encode(digest).decode()[:22]
