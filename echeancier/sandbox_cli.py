"""What the CLI does with the sandbox: open a scenario (a private, servable copy)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sandbox.clock import Clock
from sandbox.store import Store

SIZES = ("small", "medium", "large")
BUSINESS_TZ = ZoneInfo("Europe/Paris")


def today_in(tz: ZoneInfo = BUSINESS_TZ, *, now: datetime | None = None) -> date:
    """The business date: today in the business time zone."""
    return (now or datetime.now(UTC)).astimezone(tz).date()


@dataclass
class Scenario:
    store: Store
    clock: Clock
    description: str
    workdir: Path


def open_scenario(
    *,
    data: Path | None,
    size: str | None,
    seed: int,
    as_of: date,
    write: Path | None = None,
) -> Scenario:
    """A fresh store holding the scenario (a private copy: serving changes it)."""
    from sandbox.generate import generate_cached
    from sandbox.scenario import load_dir, write_dir

    workdir = Path(tempfile.mkdtemp(prefix="echeancier-sandbox-"))
    if data is not None:
        store = Store.open(workdir / "state.db")
        load_dir(store, data)
        clock = Clock()
        description = f"scenario {data}"
    else:
        assert size is not None
        cached, summary = generate_cached(size=size, seed=seed, as_of=as_of)
        shutil.copyfile(cached, workdir / "state.db")
        store = Store.open(workdir / "state.db")
        clock = Clock(summary.clock_start)
        description = f"{size} shop, seed {seed}, history to {as_of}"
    if write is not None:
        write_dir(store, write)
    return Scenario(store=store, clock=clock, description=description, workdir=workdir)


def open_state(path: Path, *, clock: datetime | None = None) -> Scenario:
    """Serve an existing store file in place (its changes persist), e.g. a shop that a
    benchmark stopped, edited and serves again a night later. The clock starts at
    ``clock`` (default: now), since a bare store file does not say when its history ends."""
    if not path.is_file():
        raise FileNotFoundError(f"no sandbox store at {path}")
    store = Store.open(path)
    return Scenario(
        store=store, clock=Clock(clock), description=f"store {path}", workdir=path.parent
    )


def parse_clock(value: str) -> datetime:
    """``--clock``: an ISO 8601 moment; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
