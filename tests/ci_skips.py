"""Under CI (environment CI=true) a skipped test fails the run.

Locally a test may skip when something it needs is not installed (its reason says what to
install). CI installs everything (.ci/run), so there a skip means a test silently did not run:
each skipped test is reported as failed, with its skip reason, and a skipped module as an error.
Expected failures (xfail) are left alone: they ran.
"""
from __future__ import annotations

import os

import pytest

CI_VALUES = {"1", "true", "yes"}


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in CI_VALUES


def _reason(longrepr) -> str:
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and under_ci():
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every test must run: {_reason(report.longrepr)}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if report.skipped and under_ci():
        report.outcome = "failed"
        report.longrepr = f"module skipped under CI=true, where every test must run: {_reason(report.longrepr)}"
    return report
