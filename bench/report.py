"""``make bench``: run the benchmarks one after another and write docs/benchmarks.md.

    .venv/bin/python bench/report.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

One at a time, never in parallel (two cores: concurrent benchmarks would measure each
other). The page is rewritten after each benchmark, so an interrupted run still leaves
the figures measured so far; a benchmark that fails leaves its error in its section.
Benchmarks that print markdown are pasted as they are; the others' plain text goes in a
code block. Nothing here asserts on time: ``make test`` never runs it.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import machine  # noqa: E402

PAGE = ROOT / "docs" / "benchmarks.md"
PY = ".venv/bin/python"


@dataclass
class Bench:
    title: str
    command: list[str]
    markdown: bool = False  # the benchmark prints its own markdown block
    timeout_s: float = 1800


def benches(database_url: str | None) -> list[Bench]:
    out = [
        Bench("Sandbox scale: the medium shop", [PY, "bench/sandbox_scale.py", "--size", "medium"]),
        Bench("Upsert throughput: SQLite", [PY, "bench/upsert_throughput.py"]),
        Bench("Load vs the floor: SQLite", [PY, "bench/load_floor.py"], markdown=True),
    ]
    if database_url:
        out += [
            Bench(
                "Upsert throughput: PostgreSQL",
                [PY, "bench/upsert_throughput.py", "--database-url", database_url],
            ),
            Bench(
                "Load vs the floor: PostgreSQL",
                [PY, "bench/load_floor.py", "--database-url", database_url],
                markdown=True,
            ),
        ]
    out += [
        Bench(
            "Reconciliation: the medium shop",
            [PY, "bench/reconcile_medium.py", "--database-url", "sqlite:///var/recon-bench.db"],
        ),
        Bench(
            "KPI backfill: the medium shop",
            [PY, "bench/kpi_backfill.py", "--database-url", "sqlite:///var/kpi-bench.db"],
        ),
        Bench(
            "Sync throughput: the medium shop into SQLite",
            [PY, "bench/sync_throughput.py", "--size", "medium"],
            markdown=True,
            timeout_s=3 * 3600,
        ),
        Bench(
            "Sync vs dlt: the medium shop into SQLite",
            [PY, "bench/sync_vs_dlt.py", "--size", "medium", "--repeat", "3"],
            markdown=True,
            timeout_s=4 * 3600,
        ),
        Bench(
            "Orchestration overhead and transforms: the medium shop",
            [PY, "bench/orchestration.py", "--size", "medium", "--repeat", "3", "--transforms"],
            markdown=True,
            timeout_s=3 * 3600,
        ),
    ]
    return out


# Figures measured by hand and not re-run by ``make bench`` (too long for one night of
# benchmarks); each says who measured it, how, and under what load.
RECORDED = """\
### Sandbox scale: the large shop (recorded, not re-run by `make bench`)

`.venv/bin/python bench/sandbox_scale.py --size large`, run by hand on the same 2-core
machine (it takes ~5 minutes and 12 GB of disk, so `make bench` leaves it out):

| run (2026-11-26, UTC) | load | generation | peak RSS |
|---|---|---|---|
| 12:51 | quiet (~0.8 at start) | **257.2 s** | 262 MB |
| 11:35 | other jobs (~4–7) | 417.7 s | 263 MB |

Both runs: 8,253,970 objects, 200,000 customers, 1,456,619 payment attempts
(charges + GoCardless payments), a 12.26 GB SQLite file.

Pages served from the large shop (quiet run, median of 15, served in / seen by the SDK):
newest 100 Stripe charges 21.7 / 102.0 ms; 100 charges after a cursor 90 % down the
list 91.6 / 161.4 ms; with `expand[]` 22.7 / 110.5 ms; 100 invoices with
`created[gte]` 23.7 / 124.3 ms; 500 GoCardless payments 22.3 / 33.5 ms.

### KPI backfill: the medium shop (recorded by hand, 2026-11-26)

`.venv/bin/python bench/kpi_backfill.py --size medium --database-url …`: the KPIs of
every day of the medium shop's history (20,000 customers; 2024-12-29 .. 2026-06-30,
549 days) in one run, as `echeancier run kpis --from 2024-12-29 --to 2026-06-30` runs
its tasks. The machine was never quiet that afternoon (other engineers' tests and
benchmarks); the load averages say how busy it was.

| run (UTC) | database | load, start → end | read | compute | upsert | forecast | report | total |
|---|---|---|---|---|---|---|---|---|
| 15:15 | SQLite | 5.8 → 5.0 | 3.56 s | 5.18 s | 0.10 s | 4.40 s | 5.10 s | **18.3 s** |
| 15:23 | SQLite | 7.0 → 10.3 | 4.03 s | 4.60 s | 0.20 s | 6.51 s | 7.74 s | **23.1 s** |
| 15:28 | PostgreSQL | 10.3 → 14.0 | 7.39 s | 4.49 s | 0.11 s | 9.47 s | 9.97 s | **31.4 s** |

Columns: reading the facts, computing the 549 days, upserting `kpi_daily`, the forecast
and its accuracy (stored), the finance report. The pure backfill (`kpi_daily` over
the 549 days, one vectorised pass, median of 3) took 1.39 s in the 15:15 run and
5.41 s in the 15:23 one; re-upserting the same 549 rows takes 0.1–0.2 s. Well under
the minute the issue asks for, even at a load of 14 on two cores.
"""

# Why the sync misses its target, from the runs of 2026-11-26 (by hand, dated: re-check
# it against the figures above after a change to the connectors or the loaders).
NOTES = """\
### Notes on the sync figures (runs of 2026-11-26, medium shop, SQLite)

**The ≥ 80 % target is not met.** Stripe's achieved rate, same benchmark and code:

| run | load average | Stripe requests | read for | req/s | of 25 req/s |
|---|---|---|---|---|---|
| 12:01 | 0.9 (quiet until the listing ended) | 4,727 | 275 s | 17.2 | 69 % |
| 12:14, `make bench` above | up to 5.6 (other tests) | 4,727 | 352 s | 13.4 | 54 % |
| 12:27, alone, `--nights 1` | ~3 (other tests) | 4,727 | 310 s | 15.2 | 61 % |
| 13:01, one decode per page, `--nights 1` | ~2 | 4,727 | 270 s | 17.5 | 70 % |

The 13:01 run (full sync 318 s, 1,850 objects/s; incremental night 20.1 s, exactly the
changed rows written) followed the fix of one cause named below: the connector decoded
each Stripe page a second time after the SDK had. (The 12:01 run's incremental nights
then hit a bug of the benchmark itself, a SQLite
snapshot copied without its WAL, since fixed; its Stripe figure was read from the same
sandbox request log.) The small shop reaches 98 % (738 requests in 30 s) with the same
code.

What stands in the way: the pipeline process, not the rate limit. During the listing
it runs at ~105 % CPU (one core: the GIL) and the sandbox at ~45 %; a page of 100
Stripe objects costs the pipeline more than the 40 ms that 25 req/s leaves per request.
A py-spy sample of the pipeline during the 12:01 run's Stripe listing (20 s at 50 Hz,
active threads): 59 % of the samples in `load_listing` (normalise + upsert: `upsert` 35 %, JSON
encoding of the raw copies 7 %, row hashing 6 %, waiting for SQLite's single writer in
`Engine.begin` 8 %), 33 % in `StripeConnector.list_pages` (the SDK's HTTP and JSON
decoding: `json.loads` 19 %), and 7 % in walk threads blocked putting pages into
`merge_walks`' bounded queue: the fetchers wait for the loaders. What would remove
it (issue 10): take the load off the fetching process's GIL (normalise and upsert in a
worker process, or one writer thread fed by all streams instead of each stream's task
competing for SQLite's lock), and decode pages once (the SDK parses each page, then the
raw copy is encoded again).
"""

INTRO = """\
# Benchmarks

Written by `make bench` (bench/report.py); re-run it to refresh this page. Benchmarks
are never part of `make test`, and nothing asserts on a time. The benchmarks run one
after another, never two at once (other work on the machine is not stopped: the load
averages are recorded); the sandbox always runs in its own process, so that it does
not share the pipeline's GIL.

What the sync benchmark sets up (bench/sync_throughput.py): the sandbox enforces each
provider's published limit with its own 429s (Stripe test mode 25 req/s, GoCardless
1000/min ≈ 16.67 req/s, AfterShip 10 req/s) and adds 100 ms to every request; the
connectors' token buckets keep under the same limits. "Req/s while read" is a
provider's answered requests divided by the time between its first request's start
and its last request's end (from the sandbox's request log); Stripe's figure over the
25 req/s ceiling is the target (≥ 80 %). The incremental night changes 1 % of the
Stripe charges (refunds with `charge.refunded` and `refund.created` events), 1 % of
the GoCardless payments (late failures with `failed` events) and delivers up to 1 % of
the parcels (a new `updated_at`), dated in the 12 hours after the first night, with
the sandbox stopped, then serves the store again a day later; the benchmark checks
that the warehouse wrote exactly those rows. The medium full sync takes about six
minutes, so it runs once (`--repeat 1`); the incremental figure is the median of three
nights, each from a copy of the warehouse the full sync left (`--nights 3`).
"""


def run(bench: Bench) -> str:
    """The benchmark's section: its command and its output (or its failure)."""
    print(f"== {bench.title}: {shlex.join(bench.command)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        out = subprocess.run(
            bench.command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=bench.timeout_s,
            check=False,
        )
        body, failed = out.stdout.strip(), out.returncode != 0
        tail = out.stderr.strip()[-3000:]
    except subprocess.TimeoutExpired as exc:
        body = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        failed, tail = True, f"stopped after {bench.timeout_s:.0f} s"
    seconds = time.perf_counter() - started
    lines = [f"## {bench.title}", "", f"`{shlex.join(bench.command)}` ({seconds:.0f} s)", ""]
    if bench.markdown and not failed:
        lines.append(body)
    else:
        lines += ["```text", body, "```"]
    if failed:
        lines += ["", "**Failed:**", "", "```text", tail, "```"]
    print(("FAILED " if failed else "done ") + f"in {seconds:.0f} s", file=sys.stderr)
    return "\n".join(lines)


def write(sections: list[str], pending: list[Bench], header: str) -> None:
    parts = [INTRO, header, *sections]
    if pending:
        parts.append("Not measured yet: " + ", ".join(b.title for b in pending) + ".")
    parts += [NOTES, RECORDED]
    PAGE.write_text("\n\n".join(p.strip() for p in parts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL for the upsert bench")
    args = parser.parse_args()
    host = machine()
    command = "make bench" + (
        f" BENCH_DATABASE_URL={args.database_url}" if args.database_url else ""
    )
    header = "\n".join(
        [
            f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}`",
            "",
            f"- machine: {host['cpu']}, {host['cores']} cores, {host['ram']} RAM",
            f"- Python {host['python']}; load average at the start: {host['load']}",
        ]
    )
    todo = benches(args.database_url)
    sections: list[str] = []
    for n, bench in enumerate(todo):
        write(sections, todo[n:], header)
        sections.append(run(bench))
    write(sections, [], header)
    print(f"wrote {PAGE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
