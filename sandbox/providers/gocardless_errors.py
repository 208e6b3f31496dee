"""GoCardless error bodies, as its API and its SDK's fixtures spell them.

Every error is ``{"error": {"message", "documentation_url", "type", "request_id",
"code", "errors": [...]}}``. The ``type`` matters beyond looks: the official SDK
picks its exception class from it (``invalid_state`` -> ``InvalidStateError``…) and
treats a body without one as malformed, which it *retries* three times. Example::

    invalid_state("retry_failed", "Payment cannot be retried")
    # 422 {"error": {"type": "invalid_state", "code": 422,
    #                "errors": [{"reason": "retry_failed", "message": ...}], ...}}
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from werkzeug.wrappers import Response

from sandbox.app import json_response
from sandbox.render import gocardless_error

DOCS = "https://developer.gocardless.com/api-reference#"


def _body(
    status: int, type_: str, message: str, errors: list[dict[str, Any]], anchor: str
) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "documentation_url": DOCS + anchor,
            "type": type_,
            "request_id": str(uuid.uuid4()),
            "code": status,
            "errors": errors,
        }
    }


def reasoned(status: int, type_: str, reason: str, message: str) -> Response:
    """An error with one ``reason`` (the shape of every non-validation GoCardless error)."""
    errors = [{"reason": reason, "message": message}]
    return json_response(_body(status, type_, message, errors, reason), status=status)


def unauthorized(reason: str, message: str) -> Response:
    """401 ``invalid_api_usage``: ``missing_authorization_header``, ``access_token_not_found``…"""
    return reasoned(401, "invalid_api_usage", reason, message)


def not_found() -> Response:
    """404 for an id that does not exist."""
    return reasoned(404, "invalid_api_usage", "resource_not_found", "Resource not found")


def path_not_found() -> Response:
    """404 for a path the API does not serve."""
    return reasoned(404, "invalid_api_usage", "path_not_found", "Path not found")


def validation_failed(field: str, message: str) -> Response:
    """422 ``validation_failed`` with one field error, as ``validation_failed_error.json``."""
    errors = [{"field": field, "message": message, "request_pointer": f"/{field}"}]
    body = _body(422, "validation_failed", "Validation failed", errors, "validation_failed")
    return json_response(body, status=422)


def invalid_state(reason: str, message: str) -> Response:
    """422 ``invalid_state`` (a payment that cannot be retried…)."""
    return reasoned(422, "invalid_state", reason, message)


def rate_limited() -> Response:
    """429 exactly as the SDK fixture ``rate_limit_exceeded.json`` has it."""
    body = copy.deepcopy(gocardless_error("rate_limit_exceeded"))
    body["error"]["request_id"] = str(uuid.uuid4())
    return json_response(body, status=429)


def internal(status: int) -> Response:
    """5xx with the ``gocardless`` error type (``gocardless_error.json``)."""
    body = copy.deepcopy(gocardless_error("gocardless_error"))
    body["error"].update(
        code=status,
        request_id=str(uuid.uuid4()),
        message="Uh-oh!" if status == 500 else "The service is temporarily unavailable",
    )
    return json_response(body, status=status)


def for_status(status: int) -> Response:
    """The body GoCardless sends for a bare HTTP status (an injected fault, a bad body…)."""
    if status == 429:
        return rate_limited()
    if status >= 500:
        return internal(status)
    if status == 401:
        return unauthorized("access_token_not_found", "Access token not found")
    if status == 404:
        return not_found()
    if status == 403:
        return reasoned(403, "invalid_api_usage", "forbidden", "Forbidden request")
    return reasoned(400, "invalid_api_usage", "invalid_document_structure", "Invalid document")
