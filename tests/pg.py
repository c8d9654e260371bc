"""A throwaway PostgreSQL server on 127.0.0.1 for the storage tests (Debian's postgresql package).

initdb refuses to run as root, so as root the cluster is created and run as the `postgres`
system user the package creates.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"PostgreSQL server binaries not found ({name}); `make test` installs Debian's postgresql package"
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], as_postgres: bool) -> None:
    if as_postgres:
        args = ["runuser", "-u", "postgres", "--", *args]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextmanager
def postgres_server():
    as_postgres = os.geteuid() == 0
    folder = tempfile.mkdtemp(prefix="cds-pg-")
    data, sock = os.path.join(folder, "data"), os.path.join(folder, "sock")
    os.makedirs(sock)
    if as_postgres:
        shutil.chown(folder, "postgres"), shutil.chown(sock, "postgres")
    port = _free_port()
    _run([_bin("initdb"), "-D", data, "-A", "trust", "-U", "cds", "--no-sync", "-E", "UTF8"], as_postgres)
    _run([_bin("pg_ctl"), "-D", data, "-w", "-l", os.path.join(folder, "log"), "-o",
          f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"], as_postgres)
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
            _run([_bin("pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"], as_postgres)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
