"""The suite's xdist groups hold: a group's tests run on one worker.

The Prefect stack of the deployment tests and the crashed night of the resilience tests
take minutes to build; ``xdist_group`` keeps each group on one worker so they are built
once. pytest 9.2 with pytest-xdist 3.8 silently dropped the grouping (the group tag never
reached the test's id) and every worker built its own: this test fails on such a pair.
"""

from __future__ import annotations

import os

import pytest


@pytest.mark.xdist_group("guard")
def test_a_grouped_test_carries_its_group_under_loadgroup(request: pytest.FixtureRequest) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER") or not request.config.getvalue("loadgroup"):
        pytest.skip("only meaningful under pytest-xdist with --dist loadgroup (make test)")
    assert request.node.nodeid.endswith("@guard"), request.node.nodeid
