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
import re
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
            Bench(
                "Reading a table: cursor vs COPY (PostgreSQL)",
                [PY, "bench/read_paths.py", "--database-url", database_url],
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
        Bench("Tax pieces: a synthetic medium shop", [PY, "bench/tax_pieces.py"]),
        Bench(
            "Outbox sending: the medium night's 1,011 notices",
            [
                *(PY, "bench/outbox_send.py", "--notices", "1011"),
                *(("--database-url", database_url) if database_url else ()),
            ],
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
    if database_url:  # bulk load, first night, then the measured night: hours on 2 cores
        out.append(
            Bench(
                "The whole night: the large shop on PostgreSQL",
                [
                    *(PY, "bench/whole_night.py", "--size", "large", "--no-snapshot"),
                    "--transforms",
                    *("--database-url", database_url),
                ],
                markdown=True,
                timeout_s=6 * 3600,
            )
        )
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

# Issue 10's figures, measured by hand on a shared machine (2026-11-26): each with its
# command, its load, and whether its target is met. ``make bench`` re-measures them.
PEERS = """\
### Issue 10: against peers and floors (measured by hand, 2026-11-26, UTC)

The machine was never quiet: from 14:30 to 16:10 five other engineers ran their test
suites on the same two cores (load average 3 to 24, given with each figure). Ratios
measured inside one run (upsert vs COPY, compute vs read) hold up better than absolute
times; the sync and dlt runs were not simultaneous, so their loads are given apart.

**1. Full sync, ours vs dlt 1.31.0 `rest_api`** (`bench/sync_vs_dlt.py --size medium`;
dlt in `var/bench-venv-dlt`, configured as bench/dlt_child.py says: the same nine
Stripe lists, `limit=100`, `starting_after` from `data[-1].id`, `has_more`, the same
`expand[]`, payouts' balance transactions as a child resource, `parallelized`, `merge`
on `id`, SQLite through dlt's `sqlalchemy` destination):

| run | pipeline | load | requests (429s) | read for | req/s | of 25 | objects/s |
|---|---|---|---|---|---|---|---|
| 15:07 | ours, medium | ~7 | 4,727 (0) | 316 s | 14.9 | **60 %** | 1,355 |
| 15:58 | ours, medium | 3.6 → 10 | 4,727 (0) | 448 s | 10.6 | 42 % | 955 |
| 15:50 | dlt, medium | 16 → 3 | 4,572 (0) | 1,087 s | 4.2 | **17 %** | 394 |
| 14:52 | dlt, small | ~10 | 561 (7) | 33 s | 16.7 | 67 % | 204 |

(Stripe only: requests and objects per second over the time Stripe was being read; our
15:58 flow took 532 s in all, GoCardless, AfterShip and the links included.)

Both copied the same 428,105 Stripe objects. Ours reads Stripe **2.4–3.4× faster than
dlt** on the medium shop (objects/s; target "ahead of dlt": met) while also reading
GoCardless and AfterShip; dlt's run took 1,268 s end to end (extract, normalise, load)
against 532 s for our whole three-provider flow. **≥ 80 % of the ceiling: NOT met** on
this shared machine (see the notes on the sync figures below). dlt's first medium run
(15:14) failed after 33 minutes in its load step (`database is locked`: SQLite with
dlt's default parallel load jobs); the bench now gives dlt one load worker on SQLite,
as dlt advises. On the small shop dlt reaches 67 % (its resources in parallel, 7 429s
answered after `Retry-After`); ours reached 98 % there earlier today. dlt is slower on
the big lists because it walks each one with a single cursor (100 ms of latency a
page), where ours cuts them into monthly slices walked in parallel.

**2. Load vs the database's floor** (`bench/load_floor.py --rows 300000`, payments
frames, batches of 100,000, median of 3; the large shop's 1,456,619 rows were tried
first: one run at 15:31 took 73 s for COPY and 435 s for the upsert while the load
went from 10 to 24, and was stopped for time):

| database (UTC, load) | plain insert | ours | ours / floor | target |
|---|---|---|---|---|
| PostgreSQL (15:45, 16 → 14) | `COPY` 19.4 s | 41.8 s | **46 %** (43, 44, 56) | ≥ 50 %: NOT met |
| SQLite (15:50, 16 → 13) | `executemany` 42.1 s | 95.9 s | **44 %** | reported |

(Rows per second: COPY 15,481, our upsert on PostgreSQL 7,181; `executemany` 7,126, our
upsert on SQLite 3,129.)

Profile of the upsert (py-spy, 200,000 rows on PostgreSQL, before the fix below):
`prepare` 41 % (row hashes 17 %, canonical values and UTC instants the rest), the two
COPYs 26 % (psycopg's per-row formatting), fetching the keys to write 14 % and
filtering the rows by them 10 %, the SQL (probe joins and `INSERT … ON CONFLICT`) the
rest. Fixed: when every row of a batch is new or changed (a first load), the upsert
now writes them all without fetching the keys (`warehouse/upsert.py`, the 24 % of the
last two items); the PostgreSQL figure above is after it. What stands between 46 % and
50 %: hashing and canonicalising in Python (per row, ~40 % of the time) — computing the
hash in the database (`md5` over the staged columns) or in vectorised pandas would
remove most of it.

**3. Transforms vs the I/O floor** (`bench/transforms.py`, the flows' own task
functions on a warehouse a sync and a night filled; small shop at 15:27, load ~9):

| step | read its inputs | compute | compute / read | target ≤ 3× |
|---|---|---|---|---|
| reconciliation (rules) | 0.27 s | 1.27 s | 4.7× | NOT met |
| dunning decisions | 1.40 s | 1.77 s | 1.3× | met |
| VAT lines and returns | 0.41 s | 1.23 s | 3.0× | met (at the limit) |
| KPI backfill (whole history) | 0.27 s | 0.56 s | 2.0× | met |

Medium shop (`bench/orchestration.py --size medium --repeat 2 --transforms`, 16:03,
load 11 → 6, median of 2), **every target met**:

| step | read its inputs | compute | compute / read | target ≤ 3× |
|---|---|---|---|---|
| reconciliation (rules) | 4.67 s | 3.02 s | 0.6× | met |
| dunning decisions | 24.85 s | 4.87 s | 0.2× | met |
| VAT lines and returns | 10.88 s | 23.70 s | 2.2× | met |
| KPI backfill (whole history) | 3.69 s | 1.79 s | 0.5× | met |

On the small shop reads take 0.3 s and fixed costs weigh on the ratios (the
reconciliation's 4.7×); at medium size the reads dominate. Dunning's read (25 s) is
the slowest of the floors: it reads its ledger tables besides the facts.

**4. Orchestration overhead** (`bench/orchestration.py`: the nightly chain, after a
full sync and a first night, then a day of changes; the ephemeral Prefect server is
started before the clock starts):

| shop (UTC, load) | under Prefect | direct calls | Prefect adds | task runs (flow runs) |
|---|---|---|---|---|
| small (15:27, ~9) | 56.3 s | 46.6 s | **+21 %** (target < 10 %: NOT met) | 74 (8) |
| medium (16:07–16:30, 8 → 2 → 8) | 341.0 s | 294.1 s | **+16 %** (NOT met) | 74 (8) |

Medium: medians of 2 nights each, alternating (Prefect 353.3 and 328.6 s, direct 274.9
and 313.3 s: the spread between two nights of one mode is as large as the gap, the
load fell from 8 to 2 and rose again during the four); peak RSS of the night's process
2,355 MB under Prefect, 2,015 MB direct (under the 4 GiB target, on the medium shop).
The task runs per night are **74 on both shops** (target "hundreds whatever the shop
size": met).

Task runs per night come from the Prefect server; the direct run counted 67 task calls
(the difference: tasks the flows reach through objects the bench does not replace; it
does not change the order of magnitude). The count is fixed by the chain's structure
(one task per stream, per step), not by the shop: "hundreds whatever the shop size"
holds by construction (docs/scaling.md); the medium count is in the bench's output
below when it finished.

Where Prefect's time goes (py-spy of the small night, main thread, 50 Hz, before the
server was started outside the clock): 12.9 s starting the ephemeral API server (now
outside the timed night; a deployment's worker talks to a running server), 4.6 s
creating the five downstream flows' runs (`flows.chain.launch`, with persisted
results), 3.3 s joining each flow run's heartbeat thread at its end (Prefect sleeps in
1 s steps: ~0.5 s per flow run, 8 flow runs), 3.2 s of API calls (task-run states,
artifacts, logs) and 1.1 s waiting on task futures. These are per flow run or per task,
so they stay the same while the night's own work grows with the shop: the small
shop's night (47 s of work) is where they weigh most. What would remove most of it:
the nightly calling the downstream flows' functions as plain subflows without
persisted results when it is not under a deployment, and fewer flow runs per night
(each costs ~1 s of engine and heartbeat).

A py-spy of the medium night under Prefect (first 146 s, 20 Hz, 16:24) adds what grows
with the shop: 6.0 s in the reconcile flow's three tasks with `persist_result=True`
(pickling the frames and exceptions to disk 2.8 s, hashing the frames for the default
cache key 1.6 s), plus the fixed costs above (heartbeat joins 2.2 s, API 1.9 s, flow
runs 3.9 s). The rest of that window was the night's own work, the same in both modes
(44 s sending the night's e-mails through SendGrid's rate limit, 26 s reading tables).
What would remove the growing part: `cache_policy=NO_CACHE` and no persisted result on
`read_recon_frames` / `find_recon_exceptions` (a retry would then re-read the facts:
seconds), a decision for the reconciliation's owner.

**5. The whole night on the large shop: not measured.** Filling a warehouse with the
large shop takes a full sync of ~47,000 Stripe requests (≥ 31 minutes at 25 req/s,
plus generating the 12 GB shop) or a bulk load of its normalised objects that is not
built yet (~8 minutes of normalising at the medium shop's rate, times ten); neither
fit in the afternoon's budget on a shared machine. What the medium figures say: the
night's transforms read every fact table whole and are linear in the shop's history
(docs/scaling.md), so the large shop's night would be about ten times the medium one's
transforms plus the same fixed sync and Prefect costs; memory likewise: the medium
night peaks at 2.0–2.4 GB, so the large shop's would pass the 4 GiB target unless the
steps read only what changed. To measure it: `bench/orchestration.py --size large` once the
warehouse can be bulk-loaded from `shop_frames`.
"""

# Why the sync misses its target, from the runs of 2026-11-26 (by hand, dated: re-check
# it against the figures above after a change to the connectors or the loaders).
PEERS_HEADING = "### Issue 10: against peers and floors"
NOTES = """\
### Notes on the sync figures (runs of 2026-11-26, medium shop, SQLite)

**Issue 3's ≥ 80 % target: not shown met on this machine yet.** Stripe's achieved
rate, same benchmark, by code version:

| run (UTC) | code | load average | Stripe requests | read for | req/s | of 25 req/s |
|---|---|---|---|---|---|---|
| 12:01 | one process | 0.9 (quiet until the listing ended) | 4,727 | 275 s | 17.2 | 69 % |
| 12:14 | one process (`make bench`) | up to 5.6 | 4,727 | 352 s | 13.4 | 54 % |
| 13:01 | one decode per page | ~2 | 4,727 | 270 s | 17.5 | 70 % |
| 14:49 | + writer process | 8–12 (other tests) | 4,727 | 624 s | 7.6 | 30 % |
| 15:07 | + writer process + orjson | ~7 (other tests) | 4,727 | 316 s | 14.9 | 60 % |
| 15:58 | same | 3.6 → 10 (+ this bench's own night and dlt run) | 4,727 | 448 s | 10.6 | 42 % |

Commands: `.venv/bin/python bench/sync_throughput.py --size medium --nights 1` (14:49)
and `.venv/bin/python bench/sync_vs_dlt.py --size medium --repeat 1` (15:07; the same
flow, bench/pipeline_child.py). From 14:30 to after 16:00 five other engineers ran their
test suites on the same two cores (load average 7 to 24), so the last two rows measure
the machine's contention as much as the sync; the quiet-machine figure after the two
changes is still to be taken (`make bench`).

What changed, each with its profile (py-spy, 50 Hz, 10–20 s during the Stripe listing):

1. **Before** (12:01): the one pipeline process at ~105 % CPU (the GIL): 59 % of the
   samples in `load_listing` (normalise + upsert), 33 % in `list_pages` (HTTP and JSON
   decoding), 7 % in walk threads blocked on `merge_walks`' full queue: the fetchers
   waited for the loaders.
2. **Writer process** (`tasks/sync_load.py::writer`, commit "Sync: full listings are
   loaded by one writer process"): full listings' batches go to one spawned process,
   at most two queued per stream. Profile at 14:58: the writer 17 % idle (waiting for
   batches: it keeps up); the fetching process now 54 % in `json.loads` under the Stripe
   SDK's `StripeResponse`, which decodes with `object_pairs_hook=OrderedDict` (a
   Python call per JSON object), 10 % pickling batches to the writer.
3. **orjson** (`connectors/stripe/connector.py::_get`): the body comes from the SDK's
   requestor and is decoded once with orjson (the SDK still raises its own errors).
   Profile at 15:09: the fetching process spends 33 % of its samples waiting in
   `merge_walks` for room in the queue and ~10 % in socket reads: it is no longer the
   bottleneck; the writer (idle 12 %) was at that moment loading GoCardless payout
   items, with ~30 % of a core under a load average of 10.

What is left in the way, from the 15:58 run's request log and profile: the first 20 s
ran at 21 req/s (84 %), then 7–13 req/s for the rest of the listing, the pace of the
one writer process. During it the fetching process spent 42 % of its samples blocked
on full page queues (the streams wait for their batches to land) and the writer 25 %
waiting for batches and 12 % committing: at ~100 Stripe objects a request, 25 req/s
asks the writer to normalise, hash, JSON-encode (the raw copy) and upsert 2,500
objects a second, more than one shared core gives it here. What would remove it: a
quiet machine (the sandbox, a third busy process, is not on a production pipeline's
cores), several normalising processes feeding the one database writer, the raw copy
encoded with orjson (7 % of the writer), and row hashes computed by the database.
"""

INTRO = """\
# Benchmarks

Written by `make bench` (bench/report.py); re-run it to refresh this page. Benchmarks
are never part of `make test`, and nothing asserts on a time. The benchmarks run one
after another, never two at once (other work on the machine is not stopped: the load
averages are recorded); the sandbox always runs in its own process, so that it does
not share the pipeline's GIL. The page opens on the last run: every target it judged
("Targets in this run", gathered from the benchmarks' own output), then each
benchmark's section; below them, the figures measured by hand, newest first.

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


HISTORY_HEADING = "## Earlier figures, measured by hand (newest first)"
HISTORY = f"""\
{HISTORY_HEADING}

Each section below names its commands, its machine and its load. `make bench` does not
re-run them as they were (most compare code before and after a change); where they
measure what the run above measures, the run above is the current figure."""
SUMMARY_HEADING = "## Targets in this run"
VERDICT = re.compile(r"\b(?:NOT )?met\b")
PENDING = re.compile(r"\n*Not measured yet: ([^\n]*)\.\n?")  # as compose writes it


def hand_sections(page: str) -> str:
    """The dated sections measured by hand (``## Afternoon of …``, each naming its own
    command), newest first: a run keeps them below its own figures instead of dropping
    what it does not re-measure. Pages written before the history had its heading kept
    them between the intro and the run's header."""
    if HISTORY_HEADING in page:
        after = page.index(HISTORY_HEADING) + len(HISTORY_HEADING)
        start = page.find("\n## ", after)
        end = page.find(PEERS_HEADING, after)
        if start < 0 or (0 <= end < start):
            return ""
        return page[start : end if end >= 0 else len(page)].strip()
    start, end = page.find("\n## "), page.find("\nRun of ")
    if start < 0 or end < start:
        return ""
    return page[start:end].strip()


def verdicts(section: str) -> list[str]:
    """The lines of a benchmark's output that judge a target, each readable on its own:
    a bullet as it is, a table row with each cell named by its column."""
    found: list[str] = []
    columns: list[str] | None = None
    for line in section.splitlines():
        if not line.startswith("|"):
            columns = None
            if line.startswith("- ") and VERDICT.search(line):
                found.append(line[2:].strip())
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if columns is None:
            columns = cells
        elif not set("".join(cells)) <= set("-: ") and VERDICT.search(line):
            named = [
                f"{column} {cell}".strip() for column, cell in zip(columns, cells, strict=False)
            ]
            found.append(f"{cells[0]}: " + ", ".join(named[1:]))
    return found


def summary(sections: list[str]) -> str:
    """Every target the run judged, under the benchmark that judged it, so the page
    opens on the verdicts rather than on the first benchmark's output."""
    lines = [SUMMARY_HEADING, ""]
    for section in sections:
        title = section.splitlines()[0].removeprefix("## ").strip()
        failed = "**Failed:**" in section
        judged = verdicts(section)
        if failed:
            lines.append(f"- **{title}**: failed (its section has the error)")
        lines += [f"- **{title}**: {verdict}" for verdict in judged]
    if len(lines) == 2:
        lines.append("No benchmark judged a target yet.")
    return "\n".join(lines)


def compose(header: str, sections: list[str], pending: list[str], kept: str) -> str:
    """The page: the run first (its verdicts, then each benchmark's section), then
    what was measured by hand, newest first."""
    parts = [INTRO, header, summary(sections), *sections]
    if pending:
        parts.append("Not measured yet: " + ", ".join(pending) + ".")
    parts += [HISTORY, *([kept] if kept else []), PEERS, NOTES, RECORDED]
    return "\n\n".join(part.strip() for part in parts) + "\n"


def write(sections: list[str], pending: list[Bench], header: str, kept: str = "") -> None:
    PAGE.write_text(compose(header, sections, [b.title for b in pending], kept))


def last_run(page: str) -> tuple[str, list[str], list[str]]:
    """The last run's header, its benchmarks' sections and the titles it had not
    measured yet, read back from the page."""
    start = page.find("\nRun of ")
    if start < 0:
        raise SystemExit(f"{PAGE.name} holds no run of `make bench` to keep")
    ends = [page.find(h, start) for h in (HISTORY_HEADING, PEERS_HEADING)]
    end = min((i for i in ends if i >= 0), default=len(page))
    run_text = page[start:end].strip()
    pending_line = PENDING.search(run_text)
    pending = pending_line.group(1).split(", ") if pending_line else []
    run_text = PENDING.sub("\n", run_text).strip()
    header, *rest = re.split(r"\n(?=## )", run_text)
    sections = [s.strip() for s in rest if not s.startswith(SUMMARY_HEADING)]
    return header.strip(), sections, pending


def notes_only() -> None:
    """Rewrite the page around the last ``make bench``'s figures, running nothing: for
    a note written after a run, or a page written by an older layout."""
    page = PAGE.read_text()
    header, sections, pending = last_run(page)
    PAGE.write_text(compose(header, sections, pending, hand_sections(page)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL for the upsert bench")
    parser.add_argument(
        "--notes-only",
        action="store_true",
        help="rewrite the page around the last run's figures, run nothing",
    )
    args = parser.parse_args()
    if args.notes_only:
        notes_only()
        return
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
    kept = hand_sections(PAGE.read_text()) if PAGE.exists() else ""
    sections: list[str] = []
    for n, bench in enumerate(todo):
        write(sections, todo[n:], header, kept)
        sections.append(run(bench))
    write(sections, [], header, kept)
    print(f"wrote {PAGE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
