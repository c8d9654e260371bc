"""Debian's Chromium driven by Playwright (pinned in the test extra), for the SMART app's browser tests.

Never ``playwright install`` (it downloads a browser; CI has only the package registries): the
system Chromium is launched headless with a fresh profile, no sandbox (CI runs as root), and
none of its background traffic. Without /usr/bin/chromium the tests skip, saying how to get it;
under CI=true a skip fails the run (tests/ci_skips.py) and .ci/run installs it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CDS_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
MISSING = f"{CHROMIUM} is missing: install Debian's Chromium (`apt-get install chromium`) to run the SMART app's browser tests"


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(MISSING, allow_module_level=True)


@contextmanager
def chromium_context():
    """A headless Chromium context with a fresh --user-data-dir, removed afterwards."""
    from playwright.sync_api import sync_playwright
    profile = tempfile.mkdtemp(prefix="cds-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=ARGS, viewport={"width": 1200, "height": 900})
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
