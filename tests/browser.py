"""Headless Chromium for tests, without Playwright: find the browser, load a page, read
back the DOM it rendered (after the page's scripts ran).

``make test`` installs Chromium (the ``browser`` step of the Makefile). A test that needs
it calls :func:`require_chromium`: without Chromium it is skipped with the reason, unless
``REQUIRE_BROWSER`` is set (as ``.ci/run`` does), where a missing browser is a failure.

Example::

    html = dump_dom(path_or_url, require_chromium())
    assert '<h2>Key figures</h2>' in html
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--mute-audio",
)


def find_chromium() -> str | None:
    """The first Chromium-like browser on PATH (``CHROMIUM`` may name one)."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).exists() else None)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The browser's path; skip the test (fail under ``REQUIRE_BROWSER``) without one."""
    found = find_chromium()
    if found:
        return found
    reason = (
        "Chromium is not installed: `make test` installs it (apt-get install chromium); "
        "set REQUIRE_BROWSER=1 to make its absence a failure"
    )
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(f"REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


def dump_dom(
    target: str | Path,
    chromium: str,
    *,
    timeout_s: float = 120.0,
    budget_ms: int = 5000,
    window: tuple[int, int] = (1280, 2000),
) -> str:
    """The DOM of ``target`` (a file path or a URL) once loaded, as Chromium serialises it.

    ``budget_ms`` of virtual time lets timers and load handlers run before the dump.
    Each call gets a throwaway profile, so no state leaks between tests.
    """
    url = target.resolve().as_uri() if isinstance(target, Path) else str(target)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(
            f"chromium exited {done.returncode} on {url}: {done.stderr.strip()[-2000:]}"
        )
    return done.stdout
