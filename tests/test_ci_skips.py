"""The CI rule (tests/ci_skips.py): with CI=true a skip fails the run; without it a skip is only reported."""
from __future__ import annotations

import pytest

SKIPPING_TESTS = """
import pytest

def test_runs():
    pass

def test_needs_a_tool():
    pytest.skip("install the tool")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False
"""


CONFTEST = "from ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401\n"


@pytest.fixture
def suite(pytester):
    """An inner suite whose conftest takes the hooks as tests/conftest.py does."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=SKIPPING_TESTS)
    return pytester


def test_a_skip_fails_the_run_under_ci(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest()
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*skipped under CI=true, where every test must run: install the tool*"])


@pytest.mark.parametrize("value", [None, "", "false"])
def test_a_skip_is_only_reported_outside_ci(suite, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    result = suite.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["SKIPPED*install the tool"])


def test_a_skipped_module_is_an_error_under_ci(pytester, monkeypatch):
    monkeypatch.setenv("CI", "1")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner='import pytest\npytest.skip("install the library", allow_module_level=True)\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*module skipped under CI=true*install the library*"])
