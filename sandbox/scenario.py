"""Scenario folders: a shop written in the providers' own wire format (DESIGN §3.4).

Layout::

    DIR/stripe/<resource>.json        JSON array of Stripe objects (customers, invoices…,
                                      payment_methods, tax_rates, events)
    DIR/stripe/payout_balance_transactions.json   {"po_…": ["txn_…", …]}
    DIR/gocardless/<resource>.json    JSON array (customers, mandates, subscriptions,
                                      instalment_schedules, payments, refunds, payouts,
                                      events)
    DIR/gocardless/payout_items.json  {"PO…": [payout item, …]}
    DIR/aftership/trackings.json      JSON array of trackings

A missing file is an empty collection. Links the wire objects do not carry come
from the side files (the payout a balance transaction went out in) or are
derived (a GoCardless payment's customer, from its mandate). Bad input stops
the load with the file and the object's index: ``stripe/charges.json: object 3:
"object" is "refund", expected "charge"``.

:func:`write_dir` writes a store out the same way, full rendered objects in
creation order, streamed; loading a written folder and writing it again gives
identical files. :func:`prepare` caches generated shops under
``var/sandbox-cache`` and hands each caller a private copy.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from sandbox import schema  # noqa: F401  (registers every resource's index)
from sandbox.generate import Summary
from sandbox.generate.cache import DEFAULT_CACHE, generate_cached
from sandbox.render import render_aftership, render_gocardless, render_stripe
from sandbox.store import BulkWriter, Store

# Load order: referenced objects first (mandates before payments, payouts before items).
STRIPE_RESOURCES: dict[str, str] = {
    "tax_rates": "tax_rate",
    "customers": "customer",
    "payment_methods": "payment_method",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "invoice_payments": "invoice_payment",
    "payment_intents": "payment_intent",
    "charges": "charge",
    "refunds": "refund",
    "disputes": "dispute",
    "payouts": "payout",
    "balance_transactions": "balance_transaction",
    "events": "event",
}
GOCARDLESS_RESOURCES = (
    "customers",
    "mandates",
    "subscriptions",
    "instalment_schedules",
    "payments",
    "refunds",
    "payouts",
    "events",
)
AFTERSHIP_RESOURCES = ("trackings",)
STRIPE_PAYOUT_LINKS = "payout_balance_transactions.json"
GOCARDLESS_PAYOUT_ITEMS = "payout_items.json"
_KNOWN = {
    "stripe": {f"{r}.json" for r in STRIPE_RESOURCES} | {STRIPE_PAYOUT_LINKS},
    "gocardless": {f"{r}.json" for r in GOCARDLESS_RESOURCES} | {GOCARDLESS_PAYOUT_ITEMS},
    "aftership": {f"{r}.json" for r in AFTERSHIP_RESOURCES},
}


class ScenarioError(ValueError):
    """A scenario folder that cannot be loaded; the message names the file and object."""


# -- loading ---------------------------------------------------------------------------------


def _read(root: Path, rel: str, kind: type) -> Any:
    path = root / rel
    if not path.exists():
        return kind()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{rel}: not valid JSON: {exc}") from exc
    if not isinstance(data, kind):
        want = "an array" if kind is list else "an object"
        raise ScenarioError(f"{rel}: must be {want} (got {type(data).__name__})")
    return data


def _objects(root: Path, rel: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, obj in enumerate(_read(root, rel, list)):
        if not isinstance(obj, dict):
            raise ScenarioError(f"{rel}: object {i}: must be a JSON object")
        yield i, obj


class _Loader:
    def __init__(self, root: Path, writer: BulkWriter) -> None:
        self.root = root
        self.writer = writer
        self.counts: dict[str, int] = {}

    def add(
        self,
        provider: str,
        resource: str,
        rel: str,
        i: int,
        obj: dict[str, Any],
        extra: dict[str, Any] | None = None,
        *,
        seen: set[str],
        key: str | None = None,
    ) -> None:
        ident = key if key is not None else obj.get("id")
        if not isinstance(ident, str) or not ident:
            raise ScenarioError(f'{rel}: object {i}: missing or non-string "id"')
        if ident in seen:
            raise ScenarioError(f"{rel}: object {i}: duplicate id {ident!r}")
        seen.add(ident)
        try:
            self.writer.add(provider, resource, obj, extra=extra)
        except (ValueError, TypeError, KeyError) as exc:
            raise ScenarioError(f"{rel}: object {i}: {exc}") from exc
        name = f"{provider}/{resource}"
        self.counts[name] = self.counts.get(name, 0) + 1


def _check_files(root: Path) -> None:
    for provider, known in _KNOWN.items():
        folder = root / provider
        if folder.exists():
            for path in sorted(folder.glob("*.json")):
                if path.name not in known:
                    raise ScenarioError(
                        f"{provider}/{path.name}: unknown file (expected one of"
                        f" {', '.join(sorted(known))})"
                    )


def load_dir(store: Store, path: Path | str) -> dict[str, int]:
    """Load a scenario folder into ``store``; returns the number of objects per resource."""
    root = Path(path)
    if not root.is_dir():
        raise ScenarioError(f"{root}: not a folder")
    _check_files(root)
    with store.bulk() as writer:
        loader = _Loader(root, writer)
        _load_stripe(loader)
        _load_gocardless(loader)
        for resource in AFTERSHIP_RESOURCES:
            rel = f"aftership/{resource}.json"
            seen: set[str] = set()
            for i, obj in _objects(root, rel):
                loader.add("aftership", resource, rel, i, obj, seen=seen)
    return loader.counts


def _load_stripe(loader: _Loader) -> None:
    rel_links = f"stripe/{STRIPE_PAYOUT_LINKS}"
    payout_of: dict[str, str] = {}
    for payout, txns in _read(loader.root, rel_links, dict).items():
        if not isinstance(txns, list) or not all(isinstance(t, str) for t in txns):
            raise ScenarioError(f"{rel_links}: {payout}: must be a list of transaction ids")
        for txn in txns:
            payout_of[txn] = payout
    for resource, object_name in STRIPE_RESOURCES.items():
        rel = f"stripe/{resource}.json"
        seen: set[str] = set()
        for i, obj in _objects(loader.root, rel):
            if obj.get("object") != object_name:
                raise ScenarioError(
                    f'{rel}: object {i}: "object" is {obj.get("object")!r},'
                    f" expected {object_name!r}"
                )
            extra = None
            if resource == "balance_transactions":
                extra = {"payout": payout_of.pop(str(obj.get("id")), None)}
            loader.add("stripe", resource, rel, i, obj, extra, seen=seen)
    if payout_of:
        txn = next(iter(payout_of))
        raise ScenarioError(f"{rel_links}: {txn} is not in stripe/balance_transactions.json")


def _load_gocardless(loader: _Loader) -> None:
    customer_of: dict[str, str] = {}
    payout_created: dict[str, str] = {}
    for resource in GOCARDLESS_RESOURCES:
        rel = f"gocardless/{resource}.json"
        seen: set[str] = set()
        for i, obj in _objects(loader.root, rel):
            extra = None
            links = obj.get("links") or {}
            if resource == "mandates" and links.get("customer"):
                customer_of[str(obj.get("id"))] = str(links["customer"])
            if resource in ("payments", "subscriptions"):
                mandate = links.get("mandate")
                if mandate not in customer_of:
                    raise ScenarioError(
                        f"{rel}: object {i}: links.mandate {mandate!r} is not in"
                        " gocardless/mandates.json"
                    )
                extra = {"customer": customer_of[mandate]}
            if resource == "payouts":
                payout_created[str(obj.get("id"))] = str(obj.get("created_at"))
            loader.add("gocardless", resource, rel, i, obj, extra, seen=seen)
    rel = f"gocardless/{GOCARDLESS_PAYOUT_ITEMS}"
    seen_items: set[str] = set()
    for payout, items in _read(loader.root, rel, dict).items():
        if payout not in payout_created:
            raise ScenarioError(f"{rel}: payout {payout!r} is not in gocardless/payouts.json")
        if not isinstance(items, list):
            raise ScenarioError(f"{rel}: {payout}: must be a list of payout items")
        for n, item in enumerate(items):
            where = f"{payout}[{n}]"
            if not isinstance(item, dict):
                raise ScenarioError(f"{rel}: object {where}: must be a JSON object")
            extra = {"payout": payout, "_id": f"{payout}:{n}", "_created": payout_created[payout]}
            loader.add(
                "gocardless", "payout_items", rel, n, item, extra, seen=seen_items, key=extra["_id"]
            )


# -- writing ---------------------------------------------------------------------------------


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _write_array(path: Path, objects: Iterator[dict[str, Any]]) -> int:
    n = 0
    tmp = path.with_suffix(".json.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write("[")
        for obj in objects:
            out.write(",\n" if n else "\n")
            out.write(_dump(obj))
            n += 1
        out.write("\n]\n" if n else "]\n")
    tmp.replace(path)
    return n


def _write_groups(path: Path, groups: Iterator[tuple[str, Any]]) -> None:
    """``{"key": [v, …], …}`` from (key, value) pairs already grouped by key."""
    tmp = path.with_suffix(".json.tmp")
    current: str | None = None
    with tmp.open("w", encoding="utf-8") as out:
        out.write("{")
        for key, value in groups:
            if key != current:
                out.write("\n  ]," if current is not None else "")
                out.write(f"\n{_dump(key)}: [\n")
                current = key
            else:
                out.write(",\n")
            out.write(_dump(value))
        out.write("\n  ]\n}\n" if current is not None else "}\n")
    tmp.replace(path)


def write_dir(store: Store, path: Path | str) -> dict[str, int]:
    """Write ``store`` out as a scenario folder; returns the objects written per file."""
    root = Path(path)
    present = {(p, r) for p, r in store.tables() if store.count(p, r)}
    written: dict[str, int] = {}
    plan: list[tuple[str, tuple[str, ...], Callable[[str, dict[str, Any]], dict[str, Any]]]] = [
        ("stripe", tuple(STRIPE_RESOURCES), lambda _r, o: render_stripe(o)),
        ("gocardless", GOCARDLESS_RESOURCES, render_gocardless),
        ("aftership", AFTERSHIP_RESOURCES, lambda _r, o: render_aftership(o)),
    ]
    for provider, resources, render in plan:
        (root / provider).mkdir(parents=True, exist_ok=True)
        for resource in resources:
            if (provider, resource) not in present:
                continue
            objects = (render(resource, o) for o in store.iter_all(provider, resource))
            written[f"{provider}/{resource}.json"] = _write_array(
                root / provider / f"{resource}.json", objects
            )
    if ("stripe", "balance_transactions") in present:
        pairs = store.iter_grouped("stripe", "balance_transactions", "payout")
        _write_groups(root / "stripe" / STRIPE_PAYOUT_LINKS, ((k, o["id"]) for k, o in pairs))
    if ("gocardless", "payout_items") in present:
        items = store.iter_grouped("gocardless", "payout_items", "payout")
        _write_groups(
            root / "gocardless" / GOCARDLESS_PAYOUT_ITEMS,
            ((k, render_gocardless("payout_items", o)) for k, o in items),
        )
        written[f"gocardless/{GOCARDLESS_PAYOUT_ITEMS}"] = store.count("gocardless", "payout_items")
    return written


# -- cached generated shops ------------------------------------------------------------------


def prepare(
    size: str,
    seed: int,
    as_of: date,
    dest: Path | str,
    *,
    cache_dir: Path | str = DEFAULT_CACHE,
) -> tuple[Store, Summary]:
    """A private store at ``dest`` holding the generated shop, from the cache when it is there.

    The cache file is never served: each caller gets a copy, so the state changes a
    server makes (a paid invoice, a retried payment) never leak into the next run.
    """
    cached, summary = generate_cached(size=size, seed=seed, as_of=as_of, cache_dir=cache_dir)
    target = Path(dest)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    src, dst = sqlite3.connect(cached), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return Store.open(target), summary
