"""The pipeline's process in a sync benchmark: the real ``sync`` flow on Prefect, one JSON line.

    DATABASE_URL=… STRIPE_API_BASE=… python bench/pipeline_child.py 2026-06-30

As in the flow tests, one seam is monkeypatched: ``flows.sync.utc_now`` reads the
sandbox's clock, because a generated shop's history ends at its own clock start, not at
the machine's today (with the machine's clock, a shop dated months ago would look like
a Stripe cursor past its 30-day retention and every night would re-list). Everything
else is what ``echeancier run sync`` does: same settings, same flow, same task runner.
``BENCH_SYNC_PREPARERS`` (set by ``bench/sync_throughput.py --preparers``) sets how many
processes prepare the listed batches (``tasks.sync_pipeline.PREPARERS``); with
``BENCH_CPU_LOG=FILE`` the run's CPU seconds are appended to FILE as a JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import httpx

    import flows.sync
    from echeancier.run_cli import prefect_defaults
    from echeancier.settings import load_settings

    prefect_defaults()
    sandbox = load_settings().stripe_api_base

    def sandbox_now() -> datetime:
        answer = httpx.get(f"{sandbox}/__sandbox/clock", timeout=30).json()
        return datetime.fromisoformat(answer["now"])

    flows.sync.utc_now = sandbox_now  # the seam (see the module docstring)
    if "BENCH_SYNC_PREPARERS" in os.environ:
        import tasks.sync_pipeline

        tasks.sync_pipeline.PREPARERS = int(os.environ["BENCH_SYNC_PREPARERS"])
    as_of = date.fromisoformat(sys.argv[1])
    started = time.perf_counter()
    state = flows.sync.sync(as_of=as_of, return_state=True)
    seconds = time.perf_counter() - started
    if not state.is_completed():
        state.result()  # raises the flow's own error: the benchmark shows it
        raise SystemExit(f"sync ended {state.name}: {state.message}")
    report = asdict(state.result())
    if "BENCH_CPU_LOG" in os.environ:
        keep_cpu(Path(os.environ["BENCH_CPU_LOG"]), seconds)
    print(json.dumps({"flow_seconds": seconds, "report": report}, default=str))


def keep_cpu(path: Path, seconds: float) -> None:
    """Append the CPU time this run took: this process, and the pool processes it started
    (the writer, the preparers), reaped first so that they count. CPU seconds do not
    depend on how busy the machine was, where wall time does."""
    import multiprocessing
    import resource

    for child in multiprocessing.active_children():
        child.terminate()
        child.join()
    own = resource.getrusage(resource.RUSAGE_SELF)
    pools = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = {
        "flow_seconds": round(seconds, 1),
        "pipeline_cpu_s": round(own.ru_utime + own.ru_stime, 1),
        "pools_cpu_s": round(pools.ru_utime + pools.ru_stime, 1),
    }
    with path.open("a") as out:
        out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
