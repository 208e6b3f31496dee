"""Every task says what an operator's Retry does with it (docs/deployments.md).

A Retry re-runs a flow run from the top; a task is skipped (``Cached``) only if its
result was persisted under the same inputs in that run. So each task declares one of:

- ``persist_result=True`` with a cache policy: a read or a pure transform, reused;
- ``cache_policy=NO_CACHE``: a write, a side effect or a read that must be fresh,
  always re-run (safe: upserts, the outbox and provider idempotency keys).

A bare ``@task`` would depend on ``PREFECT_RESULTS_PERSIST_BY_DEFAULT``, which the
deployments turn on and local runs do not: the same code would retry differently.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from prefect import Task
from prefect.cache_policies import NO_CACHE

import tasks


def _tasks() -> list[tuple[str, Task]]:
    found = []
    for info in pkgutil.iter_modules(tasks.__path__):
        module = importlib.import_module(f"tasks.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Task) and value.fn.__module__ == module.__name__:
                found.append((f"{module.__name__}.{name}", value))
    return sorted(found, key=lambda pair: pair[0])


TASKS = _tasks()


def test_the_policy_is_reused_on_retry_and_the_reconciled_facts_are_read_again() -> None:
    by_name = dict(TASKS)
    assert by_name["tasks.reconcile.load_recon_policy"].persist_result is True
    # The facts and the exceptions found in them are large frames: pickling them for a
    # Retry and hashing them for the cache key cost more than reading them again (6 s on
    # the medium night, growing with the shop), and a Retry should reconcile fresh facts.
    for name in ("tasks.reconcile.read_recon_frames", "tasks.reconcile.find_recon_exceptions"):
        assert by_name[name].cache_policy is NO_CACHE, name
        assert by_name[name].persist_result is not True, name


@pytest.mark.parametrize(("name", "task"), TASKS, ids=[name for name, _ in TASKS])
def test_every_task_declares_its_retry_behaviour(name: str, task: Task) -> None:
    if task.cache_policy is NO_CACHE:
        assert task.persist_result is not True, f"{name}: NO_CACHE yet persisted"
        return
    assert task.persist_result is True, (
        f"{name}: declare persist_result=True (read/transform) or cache_policy=NO_CACHE"
    )
