"""Shared fixtures: a live sandbox on a free port, backed by a fresh store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox.server import RunningSandbox, start
from sandbox.store import Store

# The sandbox clock of every test that does not set its own: a fixed, known moment.
SANDBOX_NOW = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "sandbox.db")
    yield s
    s.close()


@pytest.fixture
def sandbox(store: Store) -> Iterator[RunningSandbox]:
    """An empty sandbox; tests add objects to ``store`` (or ``running.app.state.store``)."""
    with start(store, start_at=SANDBOX_NOW, seed=7) as running:
        yield running
