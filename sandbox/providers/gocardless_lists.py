"""GoCardless list and get endpoints: cursor pagination and filters.

GoCardless orders every list newest first ("ordered and paginated reverse
chronologically by default"). A page of ``limit`` (default 50, at most 500)
comes in the envelope ``{"payments": [...], "meta": {"cursors": {"before",
"after"}, "limit": 50}}``. ``after`` is the id of the page's last object when
older ones remain, else ``null`` (the SDK's ``.all()`` stops there); ``before``
is the id of its first object when newer ones exist. Example: 120 payments,
``limit=50`` -> pages of 50, 50, 20; the first page's cursors are
``{"before": null, "after": "<id of its 50th>"}``, the last's ``after`` is null.

Filters are flat bracket parameters (``created_at[gte]=2024-01-02T00:00:00Z``,
``charge_date[lt]=2024-02-01``) and the per-resource keys of ``sandbox.schema``.
A bad value (``limit=501``) is a 422 ``validation_failed``; filters that cannot
be combined, or that the sandbox does not serve, a 400 ``invalid_filters``, never
silently ignored: an unfiltered answer would look right and be wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from sandbox.app import json_response
from sandbox.providers import gocardless_errors as errors
from sandbox.render import render_gocardless
from sandbox.store import Store, UnknownCursor

PROVIDER = "gocardless"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_ID = "_sandbox_id"  # where the store puts the row id of objects without one (payout items)
_BRACKET = re.compile(r"^(\w+)\[(gt|gte|lt|lte)\]$")

# Event filters naming the resource an event is about: ``payment=PM…`` means
# ``resource_type=payments`` and ``links.payment == PM…``.
EVENT_RESOURCE_FILTERS = {
    "payment": "payments",
    "mandate": "mandates",
    "subscription": "subscriptions",
    "refund": "refunds",
    "payout": "payouts",
    "instalment_schedule": "instalment_schedules",
}
# ``include`` on events: linked resources the sandbox stores.
EVENT_INCLUDES = {
    "payment": "payments",
    "mandate": "mandates",
    "subscription": "subscriptions",
    "refund": "refunds",
    "payout": "payouts",
    "instalment_schedule": "instalment_schedules",
    "customer": "customers",
}


@dataclass(frozen=True)
class Listing:
    """What one resource's list endpoint accepts, as data."""

    filters: frozenset[str] = field(default_factory=frozenset)
    times: dict[str, str] = field(default_factory=lambda: {"created_at": "created"})
    required: tuple[str, ...] = ()
    ignored: frozenset[str] = field(default_factory=frozenset)
    ascending: bool = False
    gettable: bool = True
    links: bool = False  # events: ``payment=PM…``-style filters and ``include``
    sortable: bool = False  # payments: ``sort_field=charge_date``, ``sort_direction``


LISTINGS: dict[str, Listing] = {
    "customers": Listing(),
    "mandates": Listing(filters=frozenset({"customer", "status"})),
    "subscriptions": Listing(filters=frozenset({"customer", "mandate", "status"})),
    "instalment_schedules": Listing(filters=frozenset({"customer", "mandate", "status"})),
    "payments": Listing(
        filters=frozenset({"customer", "mandate", "subscription", "status", "instalment_schedule"}),
        times={"created_at": "created", "charge_date": "updated"},
        sortable=True,
    ),
    "refunds": Listing(filters=frozenset({"payment", "mandate"})),
    "payouts": Listing(filters=frozenset({"status", "currency"})),
    # Payout items have no creation time of their own and keep the payout's order.
    "payout_items": Listing(
        filters=frozenset({"payout"}),
        times={},
        required=("payout",),
        ignored=frozenset({"include_2020_tax_cutover"}),
        ascending=True,
        gettable=False,
    ),
    "events": Listing(
        filters=frozenset({"resource_type", "action", "parent_event"}),
        links=True,
    ),
}


class BadParam(ValueError):
    """A query parameter GoCardless would reject (-> 422 ``validation_failed``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


class BadFilters(BadParam):
    """Filters that cannot be combined or are not served (-> 400 ``invalid_filters``)."""


def _epoch(value: str, *, op: str, name: str) -> int:
    """Epoch seconds of an ISO time or date, rounded so integer-second objects compare exactly."""
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadParam(f"{name}[{op}]", "is not a valid ISO 8601 time") from exc
    seconds = moment.timestamp()
    return math.floor(seconds) if op in ("gt", "lte") else math.ceil(seconds)


def _limit(args: MultiDict[str, str]) -> int:
    raw = args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise BadParam("limit", "must be a number") from exc
    if limit < 1:
        raise BadParam("limit", "must be greater than 0")
    if limit > MAX_LIMIT:
        raise BadParam("limit", f"must be less than or equal to {MAX_LIMIT}")
    return limit


@dataclass
class Query:
    """A parsed list request."""

    where: dict[str, str] = field(default_factory=dict)
    bounds: dict[str, dict[str, int]] = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT
    after: str | None = None
    before: str | None = None
    include: str | None = None
    descending: bool = True
    time_column: str = "created"


def parse(resource: str, args: MultiDict[str, str]) -> Query:
    """Read a list request's parameters against the resource's ``Listing``."""
    listing = LISTINGS[resource]
    query = Query(limit=_limit(args), after=args.get("after"), before=args.get("before"))
    query.descending = not listing.ascending
    for name in listing.required:
        if not args.get(name):
            raise BadParam(name, "is required")
    for name, value in args.items(multi=True):
        if name in ("limit", "after", "before") or name in listing.ignored:
            continue
        bracket = _BRACKET.match(name)
        if bracket and bracket.group(1) in listing.times:
            column = listing.times[bracket.group(1)]
            op = bracket.group(2)
            query.bounds.setdefault(column, {})[op] = _epoch(value, op=op, name=bracket.group(1))
        elif name in listing.filters:
            query.where[name] = value
        elif listing.links and name in EVENT_RESOURCE_FILTERS:
            _event_resource_filter(query, name, value, args)
        elif listing.links and name == "include":
            query.include = value
        elif listing.sortable and name in ("sort_field", "sort_direction"):
            _payment_sort(query, name, value)
        else:
            raise BadFilters(name, "is not a supported filter for this list")
    if query.include is not None:
        _check_include(query)
    return query


def _event_resource_filter(query: Query, name: str, value: str, args: MultiDict[str, str]) -> None:
    if "resource_type" in args:
        raise BadFilters(name, "cannot be used together with resource_type")
    others = [other for other in EVENT_RESOURCE_FILTERS if other != name and other in args]
    if others:
        raise BadFilters(name, f"cannot be used together with {others[0]}")
    query.where["resource_type"] = EVENT_RESOURCE_FILTERS[name]
    query.where["resource"] = value


def _payment_sort(query: Query, name: str, value: str) -> None:
    if name == "sort_direction":
        if value not in ("asc", "desc"):
            raise BadParam("sort_direction", "must be one of asc, desc")
        query.descending = value == "desc"
    elif value == "charge_date":
        query.time_column = "updated"
    else:
        raise BadFilters("sort_field", "is not supported by the sandbox (only charge_date)")


def _check_include(query: Query) -> None:
    plural = EVENT_INCLUDES.get(str(query.include))
    if plural is None:
        raise BadParam("include", f"must be one of {', '.join(EVENT_INCLUDES)}")
    if query.where.get("resource_type") != plural:
        raise BadFilters("include", f"must be used with resource_type={plural}")


def list_page(store: Store, resource: str, args: MultiDict[str, str]) -> Response:
    """One page of a GoCardless list, in its envelope."""
    try:
        query = parse(resource, args)
    except BadFilters as exc:
        return errors.reasoned(400, "invalid_api_usage", "invalid_filters", str(exc))
    except BadParam as exc:
        return errors.validation_failed(exc.field, exc.message)
    try:
        items, has_more = store.list(
            PROVIDER,
            resource,
            where=query.where,
            created=query.bounds.get("created"),
            updated=query.bounds.get("updated"),
            descending=query.descending,
            after=query.after,
            before=query.before,
            limit=query.limit,
            time_column=query.time_column,
            id_key=_ID,
        )
    except UnknownCursor:
        name = "after" if query.after is not None else "before"
        return errors.validation_failed(name, "is not a valid cursor")
    ids = [str(item.pop(_ID)) for item in items]
    body: dict[str, Any] = {
        resource: [render_gocardless(resource, item) for item in items],
        "meta": {"cursors": _cursors(query, ids, has_more), "limit": query.limit},
    }
    if query.include is not None:
        body["linked"] = _linked(store, query.include, items)
    return json_response(body)


def _cursors(query: Query, ids: list[str], has_more: bool) -> dict[str, str | None]:
    if not ids:
        return {"before": None, "after": None}
    if query.before is not None and query.after is None:
        # Walking back towards newer objects: ``has_more`` means newer ones remain.
        return {"before": ids[0] if has_more else None, "after": ids[-1]}
    return {
        "before": ids[0] if query.after is not None else None,
        "after": ids[-1] if has_more else None,
    }


def _linked(store: Store, include: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The resources a page of events links to, each once, in the page's order."""
    plural = EVENT_INCLUDES[include]
    seen: dict[str, dict[str, Any]] = {}
    for event in events:
        linked_id = (event.get("links") or {}).get(include)
        if not linked_id or linked_id in seen:
            continue
        obj = store.get(PROVIDER, plural, str(linked_id))
        if obj is not None:
            seen[linked_id] = render_gocardless(plural, obj)
    return {plural: list(seen.values())}


def get_one(store: Store, resource: str, obj_id: str) -> Response:
    """``GET /<resource>/<id>``: the object in its envelope, or the real 404."""
    obj = store.get(PROVIDER, resource, obj_id)
    if obj is None:
        return errors.not_found()
    return json_response({resource: render_gocardless(resource, obj)})
