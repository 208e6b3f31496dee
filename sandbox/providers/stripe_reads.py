"""Stripe's read endpoints: ``GET /v1/<resource>`` and ``GET /v1/<resource>/<id>``.

Lists are newest first, ``limit`` 1–100 (default 10). ``starting_after=X`` gives
the page after X; ``ending_before=X`` gives the ``limit`` objects just newer than
X, still newest first, ``has_more`` saying whether even newer ones exist. That
is what lets the SDK's ``auto_paging_iter`` walk an event stream forward from a
watermark: with events evt_1…evt_9 and ``ending_before=evt_2, limit=3`` the
pages are [evt_5, evt_4, evt_3], then [evt_8, evt_7, evt_6], then [evt_9].

``expand[]`` replaces an id-valued field by the object it names, found by the
id's prefix (``txn_…`` is a balance transaction): ``data.balance_transaction``
on a list of charges, ``latest_charge.balance_transaction`` on a payment intent.

A list takes the filters of :data:`stripe_wire.RESOURCES` (``customer``,
``payout``, ``status``…); any other parameter is Stripe's 400
``parameter_unknown``, so a connector asking for a filter the sandbox cannot
honour fails loudly instead of getting an unfiltered list.

Events are served for 30 days after their creation (by the sandbox clock), as
Stripe's are: a sync whose watermark is older must fall back to the lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.providers.stripe_wire import (
    RESOURCES,
    bracket,
    flatten,
    invalid_request,
    missing,
    parse_int,
    render,
    resource_of_id,
    unknown_parameter,
)
from sandbox.store import Store, UnknownCursor

MAX_EXPAND_DEPTH = 4
EVENT_RETENTION_S = 30 * 86400  # Stripe lists and retrieves events of the last 30 days only
_RANGE_OPS = ("gt", "gte", "lt", "lte")
# Subscriptions a list shows when no ``status`` is asked for: all but canceled.
_LIVE_SUBSCRIPTION_STATUSES = (
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "paused",
)


def expand_list(params: Mapping[str, Any]) -> list[str]:
    raw = params.get("expand", [])
    values = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(v, str) for v in values):
        raise invalid_request("Invalid array", param="expand")
    return list(values)


def _expired(resource: str, sparse: Mapping[str, Any], now: int) -> bool:
    """An event past Stripe's 30-day retention is gone from the API."""
    return resource == "events" and int(sparse.get("created") or 0) < now - EVENT_RETENTION_S


def retrieve(
    store: Store, resource: str, obj_id: str, params: Mapping[str, Any], now: int
) -> dict[str, Any]:
    spec = RESOURCES[resource]
    for name in params:
        if name != "expand":
            raise unknown_parameter(name)
    sparse = store.get("stripe", resource, obj_id)
    if sparse is None or _expired(resource, sparse, now):
        raise missing(spec.label, obj_id)
    obj = render(sparse, fresh=True)
    for path in expand_list(params):
        expand(store, obj, path.split("."), path)
    return obj


def _limit(params: Mapping[str, Any]) -> int:
    if "limit" not in params:
        return 10
    limit = parse_int(params["limit"], "limit")
    if limit < 1:
        raise invalid_request(
            "This value must be greater than or equal to 1.",
            param="limit",
            code="parameter_invalid_integer",
        )
    if limit > 100:
        raise invalid_request(
            "This value must be less than or equal to 100.",
            param="limit",
            code="parameter_invalid_integer",
        )
    return limit


def _created(value: Any) -> dict[str, int]:
    if isinstance(value, dict):
        bounds: dict[str, int] = {}
        for op, bound in value.items():
            if op not in _RANGE_OPS:
                raise unknown_parameter(f"created[{op}]")
            bounds[op] = parse_int(bound, f"created[{op}]")
        return bounds
    exact = parse_int(value, "created")
    return {"gte": exact, "lte": exact}


def _event_types(params: Mapping[str, Any]) -> str | list[str] | None:
    if "type" in params and "types" in params:
        raise invalid_request(
            "You may only specify one of these parameters: type, types.",
            param="type",
            code="parameters_exclusive",
        )
    if "types" in params:
        types = params["types"]
        types = types if isinstance(types, list) else [types]
        if len(types) > 20:
            raise invalid_request(
                "Array types exceeded maximum 20 allowed elements.", param="types"
            )
        return [str(t) for t in types]
    value = params.get("type")
    return None if value is None else str(value)


def list_objects(
    store: Store, resource: str, params: Mapping[str, Any], url: str, now: int
) -> dict[str, Any]:
    spec = RESOURCES[resource]
    limit = _limit(params)
    expands = expand_list(params)
    created = _created(params["created"]) if "created" in params else {}
    where: dict[str, Any] = {}
    controls = {"limit", "expand", "created", "starting_after", "ending_before"}
    if resource == "events":
        cutoff = now - EVENT_RETENTION_S
        created["gte"] = max(created.get("gte", cutoff), cutoff)
        for cursor in (params.get("starting_after"), params.get("ending_before")):
            event = store.get("stripe", "events", cursor) if isinstance(cursor, str) else None
            if event is not None and _expired(resource, event, now):
                param = (
                    "starting_after" if cursor == params.get("starting_after") else "ending_before"
                )
                raise missing(spec.label, cursor, param=param)
        controls |= {"type", "types"}
        types = _event_types(params)
        if types is not None:
            where["type"] = types
    for name, value in flatten({k: v for k, v in params.items() if k not in controls}).items():
        key = spec.filters.get(name)
        if key is None:
            raise unknown_parameter(bracket(name))
        if not isinstance(value, str):
            raise invalid_request(f"Invalid string: {value!r}", param=bracket(name))
        where[key] = value
    if resource == "subscriptions":
        status = where.get("status")
        if status is None:
            where["status"] = list(_LIVE_SUBSCRIPTION_STATUSES)
        elif status == "all":
            del where["status"]
        elif status == "ended":
            where["status"] = ["canceled", "incomplete_expired"]
    after, before = params.get("starting_after"), params.get("ending_before")
    if after is not None and before is not None:
        raise invalid_request(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
            code="parameters_exclusive",
        )
    try:
        items, has_more = store.list(
            "stripe",
            resource,
            where=where,
            created=created or None,
            after=after or None,
            before=before or None,
            limit=limit,
        )
    except UnknownCursor as exc:
        param = "starting_after" if after is not None else "ending_before"
        raise missing(spec.label, str(exc.args[0]), param=param) from None
    data = [render(item, fresh=True) for item in items]
    for path in expands:
        parts = path.split(".")
        if parts[0] != "data":
            raise invalid_request(
                f"This property cannot be expanded ({path}). You may want to try expanding "
                f"'data.{path}' instead.",
                param="expand",
            )
        for obj in data:
            expand(store, obj, parts[1:], path)
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def expand(store: Store, obj: Any, parts: list[str], path: str, depth: int = 0) -> None:
    """Replace the id at ``parts`` (walking lists and expanded objects) by its object."""
    if not parts:
        return
    if depth >= MAX_EXPAND_DEPTH:
        raise invalid_request(
            f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
            f"Property: {path}",
            param="expand",
        )
    if isinstance(obj, list):
        for item in obj:
            expand(store, item, parts, path, depth)
        return
    if not isinstance(obj, dict) or parts[0] not in obj:
        raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")
    name, rest = parts[0], parts[1:]
    value = obj[name]
    if isinstance(value, str):
        resource = resource_of_id(value)
        sparse = store.get("stripe", resource, value) if resource else None
        if sparse is None:
            if rest or resource is None:
                raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")
            return  # a dangling id stays an id, as Stripe leaves a deleted object's id
        value = obj[name] = render(sparse, fresh=True)
        depth += 1
    if value is None:
        return
    expand(store, value, rest, path, depth)
