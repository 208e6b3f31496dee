"""Stripe's wire conventions: form parsing, ids, error bodies, the resource table.

Stripe's SDKs send nested parameters in bracket form (``created[gte]=1700000000``,
``expand[0]=data.balance_transaction``, ``metadata[order_id]=A-1``); the parser
turns them back into the nested values the API reads: ``{"created": {"gte":
"1700000000"}, "expand": ["data.balance_transaction"], ...}``. ``x[]=a&x[]=b``
and ``x[0]=a&x[1]=b`` both give a list.

Errors are raised as :class:`StripeError` carrying the exact body the real API
sends (``{"error": {"type", "code", "message", "param", "doc_url", ...}}``), so
every handler reads as the happy path.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.render import render_stripe, stripe_templates

API_VERSION = "2026-10-28.endive"
DOCS = "https://stripe.com/docs/error-codes/"
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """A fresh id of Stripe's form: prefix + base62 (``ch_3Pg…``)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def request_id() -> str:
    return new_id("req_", 14)


# -- parameters ------------------------------------------------------------------------

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def _insert(node: dict[str, Any], parts: list[str], value: str) -> None:
    head, rest = parts[0], parts[1:]
    if head == "":  # ``x[]=a``: append at the next index
        head = str(len(node))
    if not rest:
        node[head] = value
        return
    child = node.get(head)
    if not isinstance(child, dict):
        child = node[head] = {}
    _insert(child, rest, value)


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _listify(v) for k, v in value.items()}
        if out and all(k.isdigit() for k in out):
            return [out[k] for k in sorted(out, key=int)]
        return out
    return value


def parse_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Bracket-encoded form pairs -> nested dicts and lists of strings."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        parts = [match.group(1), *_BRACKETS.findall(match.group(2))] if match else [key]
        _insert(root, parts, value)
    return _listify(root)  # type: ignore[no-any-return]


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"payment": {"payment_intent": "pi_1"}}`` -> ``{"payment.payment_intent": "pi_1"}``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def bracket(name: str) -> str:
    """``payment.payment_intent`` -> ``payment[payment_intent]`` (how Stripe names a param)."""
    head, *rest = name.split(".")
    return head + "".join(f"[{part}]" for part in rest)


# -- errors ----------------------------------------------------------------------------


class StripeError(Exception):
    """An error answer: HTTP status and the ``error`` object of Stripe's body."""

    def __init__(
        self, status: int, error: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error
        self.headers = headers or {}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeError:
    error: dict[str, Any] = {}
    if code:
        error["code"] = code
        error["doc_url"] = DOCS + code.replace("_", "-")
    error["message"] = message
    if param:
        error["param"] = param
    error["type"] = "invalid_request_error"
    return StripeError(status, error)


def missing(label: str, obj_id: str, param: str = "id") -> StripeError:
    """Stripe's 404 for an unknown id (also its answer to an unknown cursor, as a 400)."""
    status = 404 if param == "id" else 400
    return invalid_request(
        f"No such {label}: '{obj_id}'", param=param, code="resource_missing", status=status
    )


def unknown_parameter(name: str) -> StripeError:
    return invalid_request(
        f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
    )


def parse_int(value: Any, param: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    shown = value if isinstance(value, str) else "(non-scalar)"
    raise invalid_request(
        f"Invalid integer: {shown}", param=param, code="parameter_invalid_integer"
    )


def parse_bool(value: Any, param: str) -> bool:
    if value in ("true", "false"):
        return value == "true"
    raise invalid_request(f"Invalid boolean: {value}", param=param)


# -- resources -------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """One listable resource: its ``object`` name, id prefix, 404 label and list filters.

    ``filters`` maps the (dotted) query parameter to the store's filter key.
    """

    object: str
    prefix: str
    label: str
    filters: Mapping[str, str] = field(default_factory=dict)


def _same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


RESOURCES: dict[str, Resource] = {
    "customers": Resource("customer", "cus_", "customer", _same("email")),
    "subscriptions": Resource("subscription", "sub_", "subscription", _same("customer", "status")),
    "invoices": Resource(
        "invoice",
        "in_",
        "invoice",
        _same("customer", "subscription", "status", "collection_method"),
    ),
    "invoice_payments": Resource(
        "invoice_payment",
        "inpay_",
        "invoice_payment",
        {
            **_same("invoice", "status"),
            "payment.payment_intent": "payment_intent",
            "payment.charge": "charge",
        },
    ),
    "charges": Resource("charge", "ch_", "charge", _same("customer", "payment_intent")),
    "payment_intents": Resource("payment_intent", "pi_", "payment_intent", _same("customer")),
    "refunds": Resource("refund", "re_", "refund", _same("charge", "payment_intent")),
    "disputes": Resource("dispute", "du_", "dispute", _same("charge", "payment_intent")),
    "payouts": Resource("payout", "po_", "payout", _same("status")),
    "balance_transactions": Resource(
        "balance_transaction",
        "txn_",
        "balance transaction",
        _same("payout", "type", "source", "currency"),
    ),
    "payment_methods": Resource(
        "payment_method", "pm_", "PaymentMethod", _same("customer", "type")
    ),
    "tax_rates": Resource("tax_rate", "txr_", "tax rate", _same("active", "inclusive")),
    "events": Resource("event", "evt_", "event", {}),
}

# Longest prefix first, so ``inpay_`` is tried before ``in_``.
_BY_PREFIX = sorted(((r.prefix, name) for name, r in RESOURCES.items()), key=lambda p: -len(p[0]))


def resource_of_id(obj_id: str) -> str | None:
    """The resource an id names, by its prefix (``txn_…`` -> ``balance_transactions``)."""
    for prefix, name in _BY_PREFIX:
        if obj_id.startswith(prefix):
            return name
    return None


# Fields ``fixtures3.json`` still carries that the pinned API version removed
# (basil moved ``invoice.subscription`` to ``parent.subscription_details``).
REMOVED_FIELDS: dict[str, frozenset[str]] = {"invoice": frozenset({"subscription"})}


def render(sparse: Mapping[str, Any], *, fresh: bool = False) -> dict[str, Any]:
    """The full wire object, with the nested list ``url``s naming this object, not the fixture's.

    The result may share nested values with ``sparse``, so ``sparse`` is copied first unless
    the caller says it is ``fresh``: just read from the store (each read parses its own
    copy) and not used again. A list page skips the copy, which was a sixth of the
    sandbox's CPU while serving a full sync.
    """
    out = render_stripe(dict(sparse) if fresh else copy.deepcopy(dict(sparse)))
    _drop_removed(out)
    template_id = stripe_templates().get(str(out.get("object")), {}).get("id")
    obj_id = out.get("id")
    if template_id and obj_id:
        for value in out.values():
            if isinstance(value, dict) and value.get("object") == "list":
                url = value.get("url")
                if isinstance(url, str):
                    value["url"] = url.replace(template_id, str(obj_id))
    return out


def _drop_removed(value: Any) -> None:
    """Drop :data:`REMOVED_FIELDS` wherever such an object sits (an event's ``data.object``)."""
    if isinstance(value, dict):
        for name in REMOVED_FIELDS.get(str(value.get("object")), ()):
            value.pop(name, None)
        for item in value.values():
            _drop_removed(item)
    elif isinstance(value, list):
        for item in value:
            _drop_removed(item)
