"""Render sparse stored objects into the providers' full wire objects.

The store keeps only the fields that carry information (``sandbox.store``). On
the way out each object is laid over a *template*: the provider's own published
example of that resource (Stripe's ``fixtures3.json``, GoCardless's SDK fixtures,
AfterShip's SDK model), with every value reset to an empty default. The result
has exactly the provider's field names and nesting, whatever the generator or a
scenario file chose to spell out.

Example: the sparse charge ``{"id": "ch_1", "object": "charge", "amount": 500}``
renders with all ~45 fields of a Stripe charge, ``captured: false``,
``metadata: {}``, ``refunds`` as an empty list envelope, ``outcome: null``…

Rules for a field missing from the sparse object:
- ``object`` keeps the template's value; booleans are ``false``; lists ``[]``;
  ``metadata`` ``{}``; a nested list envelope an empty envelope;
- other nested objects: ``null`` for Stripe (its nullable sub-objects), a
  dict of nulls for GoCardless (which always sends them), ``links`` excepted.
A nested dict the sparse object does give is completed from the template the
same way, so partial sub-objects come out whole.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

_FIXTURES = resources.files("sandbox") / "fixtures"

# GoCardless resource (plural, as in its URLs and list envelopes) -> fixture file.
GOCARDLESS_RESOURCES = (
    "customers",
    "mandates",
    "subscriptions",
    "instalment_schedules",
    "payments",
    "refunds",
    "payouts",
    "payout_items",
    "events",
    "creditors",
)


@cache
def stripe_templates() -> dict[str, dict[str, Any]]:
    """Stripe fixture objects keyed by their ``object`` name (``charge``, ``invoice``…)."""
    data = json.loads((_FIXTURES / "stripe" / "fixtures3.json").read_text())
    resources = {k: v for k, v in data["resources"].items() if isinstance(v, dict)}
    # A resource named after its object wins: ``deleted_customer`` also says "customer".
    out: dict[str, dict[str, Any]] = dict(resources)
    for name, obj in resources.items():
        out.setdefault(str(obj.get("object", name)), obj)
    return out


@cache
def gocardless_templates() -> dict[str, dict[str, Any]]:
    """One example object per GoCardless resource, from the SDK's ``list`` fixture."""
    out: dict[str, dict[str, Any]] = {}
    for resource in GOCARDLESS_RESOURCES:
        data = json.loads((_FIXTURES / "gocardless" / f"{resource}.json").read_text())
        body = data["list"]["body"]
        out[resource] = body[resource][0]
    return out


@cache
def gocardless_error(name: str) -> dict[str, Any]:
    """A GoCardless error body as its SDK fixtures publish it (``rate_limit_exceeded``…)."""
    data: dict[str, Any] = json.loads((_FIXTURES / "gocardless" / f"{name}.json").read_text())
    return data


@cache
def aftership_template() -> dict[str, Any]:
    """Every field of AfterShip's ``Tracking`` model (by wire alias), as ``None``."""
    from tracking.models import Tracking

    return {(f.alias or name): None for name, f in Tracking.model_fields.items()}


def _empty(key: str, template: Any, *, provider: str) -> Any:
    if key == "object":
        return template
    if isinstance(template, bool):
        return False
    if isinstance(template, list):
        return []
    if key == "metadata" or key == "resource_metadata":
        return {}
    if isinstance(template, dict):
        if template.get("object") == "list":
            # In the template's key order, so an empty envelope and a rendered one given
            # by the object serialise alike (a written scenario re-renders identically).
            empty = {"object": "list", "data": [], "has_more": False, "url": template.get("url")}
            return {k: empty.get(k) for k in template}
        if provider == "gocardless" and key != "links":
            return {k: _empty(k, v, provider=provider) for k, v in template.items()}
        return None
    return None


def _merge(key: str, template: Any, value: Any, *, provider: str) -> Any:
    if key in ("metadata", "resource_metadata"):  # free-form: never add the example's keys
        return value
    if isinstance(value, dict):
        kind = value.get("object")  # an event's ``data`` holds a dict under "object"
        if provider == "stripe" and isinstance(kind, str) and kind in stripe_templates():
            return render_stripe(value)
        if isinstance(template, dict) and not (provider == "gocardless" and key == "links"):
            return _fill(template, value, provider=provider)
        return value
    if isinstance(value, list) and isinstance(template, list) and template:
        item_template = template[0]
        return [_merge(key, item_template, item, provider=provider) for item in value]
    if isinstance(value, list) and provider == "stripe":
        return [render_stripe(v) if isinstance(v, dict) and "object" in v else v for v in value]
    return value


def _fill(template: dict[str, Any], sparse: dict[str, Any], *, provider: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, tval in template.items():
        if key in sparse:
            out[key] = _merge(key, tval, sparse[key], provider=provider)
        else:
            out[key] = _empty(key, tval, provider=provider)
    for key, value in sparse.items():
        if key not in template:  # kept, so a shape test can see the extra field
            out[key] = value
    return out


def render_stripe(sparse: dict[str, Any]) -> dict[str, Any]:
    """Full Stripe object for a sparse one (dispatching on its ``object`` field)."""
    template = stripe_templates().get(str(sparse.get("object")))
    if template is None:
        return sparse
    return _fill(template, sparse, provider="stripe")


def render_gocardless(resource: str, sparse: dict[str, Any]) -> dict[str, Any]:
    """Full GoCardless object of ``resource`` (``payments``, ``mandates``…)."""
    return _fill(gocardless_templates()[resource], sparse, provider="gocardless")


def render_aftership(sparse: dict[str, Any]) -> dict[str, Any]:
    """Full AfterShip tracking (every model field present, unknown ones ``null``)."""
    return _fill(aftership_template(), sparse, provider="aftership")
