"""How the sandbox scales: generation time, memory and disk, and the latency of a page.

    .venv/bin/python bench/sandbox_scale.py --size medium            # ~30 s
    .venv/bin/python bench/sandbox_scale.py --size large             # ~5 min, ~12 GB on disk

Generation runs in a child process so its peak RSS (children included) is measured
alone. Pages are then fetched over HTTP with the official Stripe and GoCardless SDKs
from a server on that shop: the newest page, a page deep in the list (a cursor at the
90th percentile of the collection), a page with ``expand[]``, and a date-filtered page.
Each figure is the median of ``--repeat`` fetches.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_CHILD = """
import json, sys, time
from datetime import date
from sandbox import schema
from sandbox.generate import generate
from sandbox.store import Store
started = time.perf_counter()
summary = generate(Store.open(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                   date.fromisoformat(sys.argv[4]))
print(json.dumps({"seconds": time.perf_counter() - started, "summary": summary.to_json()}))
"""


def generate_in_child(path: Path, size: str, seed: int, as_of: date) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), size, str(seed), as_of.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    # ru_maxrss of the largest child (KiB on Linux): the generator or one of its workers.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def median_ms(fetch: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fetch()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def page_latencies(path: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """Per case: (median time the sandbox took to answer, median time seen by the SDK)."""
    import gocardless_pro
    import stripe

    from sandbox import schema  # noqa: F401
    from sandbox.server import start
    from sandbox.store import Store

    store = Store.open(path)
    charges = store.count("stripe", "charges")
    deep, _ = store.list("stripe", "charges", limit=1, after=None)
    # A cursor 90 % of the way down the list: pages deep in a big collection stay fast.
    deep_page, _ = store.list("stripe", "charges", limit=min(charges - 1, int(charges * 0.9)))
    cursor = deep_page[-1]["id"] if deep_page else deep[0]["id"]
    middle_created = deep_page[len(deep_page) // 2]["created"] if deep_page else 0
    with start(store) as running:
        client = stripe.StripeClient("sk_test_bench", base_addresses={"api": running.url})
        gc = gocardless_pro.Client(access_token="bench", base_url=running.url)
        cases: dict[str, Callable[[], object]] = {
            "stripe charges, newest 100": lambda: client.v1.charges.list(params={"limit": 100}),
            "stripe charges, 100 after a deep cursor": lambda: client.v1.charges.list(
                params={"limit": 100, "starting_after": cursor}
            ),
            "stripe charges, 100 with expand[]": lambda: client.v1.charges.list(
                params={"limit": 100, "expand": ["data.balance_transaction"]}
            ),
            "stripe invoices, 100 with created[gte]": lambda: client.v1.invoices.list(
                params={"limit": 100, "created": {"gte": middle_created}}
            ),
            "gocardless payments, 500": lambda: gc.payments.list(params={"limit": 500}),
        }
        results: dict[str, tuple[float, float]] = {}
        for name, fetch in cases.items():
            seen = len(running.app.requests())
            client_ms = median_ms(fetch, repeat)
            served = [r.duration_ms for r in running.app.requests()[seen:]]
            results[name] = (statistics.median(served), client_ms)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT / "var" if (ROOT / "var").exists() else None) as d:
        path = Path(d) / "shop.db"
        gen = generate_in_child(path, args.size, args.seed, date.fromisoformat(args.as_of))
        summary = gen["summary"]
        assert isinstance(summary, dict)
        counts: dict[str, dict[str, int]] = summary["counts"]
        objects = sum(n for per_provider in counts.values() for n in per_provider.values())
        payments = counts["stripe"].get("charges", 0) + counts["gocardless"].get("payments", 0)
        print(f"size={args.size} seed={args.seed} as_of={args.as_of}")
        print(f"generation: {float(gen['seconds']):.1f} s, {objects:,} objects,")
        print(
            f"  {counts['stripe'].get('customers', 0) + counts['gocardless'].get('customers', 0):,}"
            f" customers, {payments:,} payment attempts (charges + GoCardless payments),"
        )
        size_gb = path.stat().st_size / 1e9
        print(f"  peak RSS {float(gen['peak_rss_mb']):.0f} MB, file {size_gb:.2f} GB")
        print(f"pages (median of {args.repeat}): served in / seen by the SDK, parsing included")
        for name, (served, seen) in page_latencies(path, args.repeat).items():
            print(f"  {name}: {served:.1f} ms / {seen:.1f} ms")


if __name__ == "__main__":
    main()
