"""Whatever order and batching events arrive in, each key ends in its newest state.

Events for a payment (``ch_0`` at versions 1…n, each with some status) are shuffled,
cut into batches and upserted one batch per transaction, with repeats: the table must
end as if only the newest event of each key had ever been applied.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from warehouse.tables import payments
from warehouse.upsert import upsert

from .test_upsert import SYNCED, payment

STATUSES = ("pending", "succeeded", "failed", "refunded")

events = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(STATUSES)), min_size=1, max_size=12
).map(lambda pairs: [(key, version, status) for version, (key, status) in enumerate(pairs, 1)])


@settings(
    max_examples=25,
    database=None,  # no .hypothesis/ folder in the work tree
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=events, data=st.data())
def test_any_delivery_order_ends_in_the_newest_state(
    engine: Engine, history: list[tuple[int, int, str]], data: st.DataObject
) -> None:
    deliveries = data.draw(st.permutations(history + data.draw(st.lists(st.sampled_from(history)))))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(deliveries) - 1)), max_size=3)))
    batches = [deliveries[a:b] for a, b in zip([0, *cuts], [*cuts, len(deliveries)], strict=True)]

    with engine.begin() as conn:
        conn.execute(payments.delete())
    for batch in batches:
        rows: list[dict[str, Any]] = [payment(k, v, status=s) for k, v, s in batch]
        with engine.begin() as conn:
            upsert(conn, payments, rows, synced_at=SYNCED)

    newest = {f"ch_{k}": (s, v) for k, v, s in sorted(history, key=lambda e: e[1])}
    with engine.connect() as conn:
        query = select(payments.c.payment_id, payments.c.status, payments.c.source_version)
        assert {pid: (s, v) for pid, s, v in conn.execute(query)} == newest
