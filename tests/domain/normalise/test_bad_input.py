"""Property: whatever a provider sends, normalisation makes a sound row or a quarantine
row with a reason, never an exception, and never harms the rest of the batch.

Hypothesis starts from a valid wire object of each stream the sync follows (the
``tests.domain.normalise.wire`` builders) and breaks it one to four ways: a field
removed, or replaced by a value of the wrong type, an unknown status, a huge or negative
amount, a bad currency, text that is not UTF-8 (a lone surrogate) or holds a NUL — at any
depth. The broken object goes through the stream's own normalisers (the ones the sync
calls, ``domain.sync_streams``) between two valid ones. Then:

- nothing raises;
- the valid objects are rows, the broken one is a row or exactly one problem per
  output, whose reason is non-empty and whose id and payload can be stored;
- every row is storable and within the warehouse's contract: text is UTF-8 without NUL
  (PostgreSQL refuses NUL in text), currencies are ISO 4217, amounts whole minor units
  within ``MAX_MINOR``, statuses among the gate's allowed values.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.normalise.codes import ISO_4217
from domain.normalise.fields import MAX_MINOR
from domain.sync_streams import Lookups, stream
from tests.domain.normalise import wire

# (provider, list resource) -> a valid object of it, built with a given id
BUILDERS: dict[tuple[str, str], Callable[[str], dict[str, Any]]] = {
    ("stripe", "customers"): lambda i: wire.stripe_customer(id=i),
    ("stripe", "subscriptions"): lambda i: wire.stripe_subscription(id=i),
    ("stripe", "invoices"): lambda i: wire.stripe_invoice(id=i),
    ("stripe", "invoice_payments"): lambda i: wire.invoice_payment(id=i),
    ("stripe", "charges"): lambda i: wire.charge(id=i),
    ("gocardless", "customers"): lambda i: wire.gc_customer(id=i),
    ("gocardless", "mandates"): lambda i: wire.gc_mandate(id=i),
    ("gocardless", "subscriptions"): lambda i: wire.gc_subscription(id=i),
    ("gocardless", "payments"): lambda i: wire.gc_payment(id=i),
    ("aftership", "trackings"): lambda i: wire.tracking(id=i),
}
LOOKUPS = Lookups(
    tax_rates={"txr_de_reverse": wire.tax_rate("txr_de_reverse", "DE", 0)},
    mandates={"MD123": wire.gc_mandate()},
)
STATUS_COLUMNS = ("status", "direction")

TEXT = st.text(max_size=12)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**11 + 1, -1, 2**63, 0, 12, 4_102_444_801]),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.sampled_from(["EURO", "eur ", "xyz", "", "€", "weird", "PAID", "paid\x00", "1.005"]),
    TEXT.map(lambda s: s + "\udcff"),  # not UTF-8: a lone surrogate
    TEXT.map(lambda s: "Lukas\x00" + s),  # NUL: valid UTF-8, refused by PostgreSQL text
    st.lists(st.integers(), max_size=2),
    st.dictionaries(TEXT, st.integers(), max_size=2),
)


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into ``obj`` (dicts and lists, three levels deep)."""
    found: list[tuple[Any, ...]] = []
    if len(prefix) >= 3:
        return found
    children = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, value in children:
        found.append((*prefix, key))
        found.extend(paths(value, (*prefix, key)))
    return found


def broken(obj: dict[str, Any], changes: list[tuple[bool, int, Any]]) -> dict[str, Any]:
    """``obj`` with each change applied: (delete?, which path, new value)."""
    out = copy.deepcopy(obj)
    for delete, which, value in changes:
        candidates = paths(out)
        if not candidates:
            break
        *parents, last = candidates[which % len(candidates)]
        node: Any = out
        for key in parents:
            node = node[key]
        if delete and isinstance(node, dict):
            del node[last]
        else:
            node[last] = value
    return out


CHANGES = st.lists(st.tuples(st.booleans(), st.integers(0, 10_000), JUNK), min_size=1, max_size=4)


def storable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    return True


def allowed_statuses() -> dict[str, dict[str, set[str]]]:
    """table -> column -> allowed values, as the gate's suites say (built once)."""
    from expectations.suites import SUITES

    out: dict[str, dict[str, set[str]]] = {}
    for name, suite in SUITES.items():
        for check in suite.checks:
            kwargs = check.expectation.configuration.kwargs
            if kwargs.get("column") in STATUS_COLUMNS and "value_set" in kwargs:
                out.setdefault(name, {})[kwargs["column"]] = set(kwargs["value_set"])
    return out


STATUSES = allowed_statuses()


def assert_sound(table: str, rows: pd.DataFrame) -> None:
    from expectations.suites import SUITES

    for column in rows.columns:
        values = rows[column].tolist()
        assert all(storable(v) for v in values), (table, column, values)
    if "currency" in rows.columns:
        assert set(rows["currency"].dropna()) <= ISO_4217, (table, rows["currency"].tolist())
    suite = SUITES.get(table)
    for column in suite.money if suite else ():
        for value in rows[column].dropna():
            assert float(value) == int(value), (table, column, value)
            assert abs(int(value)) <= MAX_MINOR, (table, column, value)
    for column, allowed in STATUSES.get(table, {}).items():
        assert set(rows[column].dropna()) <= allowed, (table, column, rows[column].tolist())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(sorted(BUILDERS)), changes=CHANGES)
def test_a_broken_object_is_a_sound_row_or_one_problem_with_a_reason(
    which: tuple[str, str], changes: list[tuple[bool, int, Any]]
) -> None:
    build = BUILDERS[which]
    spec = stream(*which)
    bad = broken(build("bad_1"), changes)
    objects = [build("good_1"), bad, build("good_2")]
    for output in spec.outputs:
        out = output.normalise(objects, [1, 2, 3], LOOKUPS)  # never raises
        rows, problems = out.rows, out.problems
        assert not set(problems["object_id"]) & {"good_1", "good_2"}
        assert len(problems) <= 1
        for _, problem in problems.iterrows():
            assert problem["reason"]
            assert storable(problem["object_id"])
            json.loads(problem["payload"])
            problem["payload"].encode("utf-8")
        if output.table != "invoice_tax_lines":  # one row per object
            assert 2 <= len(rows) <= 3
            assert len(rows) + len(problems) == 3
            assert set(rows["source_version"]) >= {1, 3}
        assert_sound(output.table, rows)


def test_a_nul_in_a_name_or_an_id_is_quarantined_not_loaded() -> None:
    """PostgreSQL refuses NUL in text: one such name used to fail the whole load."""
    from domain.normalise.stripe_customers import normalise_customers

    out = normalise_customers([wire.stripe_customer(name="Lukas\x00Müller")], 1)
    assert out.rows.empty
    assert out.problems["reason"].tolist() == ["name contains a NUL character: 'Lukas\\x00Müller'"]
    out = normalise_customers([wire.stripe_customer(id="cus_\x00")], 1)
    assert out.problems["object_id"].iloc[0].startswith("no-id:")
