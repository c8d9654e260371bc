"""A real FHIR server for the end-to-end suite: sekmet-fhir, in its own virtual environment.

`make test` installs it into .venv-fhir (it pins other versions of shared libraries). The
server runs on 127.0.0.1 on a free port with its simulator off and a temporary data folder,
and is stopped when the session ends.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from cds_service.config import REPO_ROOT

SEKMET = Path(os.environ.get("CDS_E2E_SEKMET", REPO_ROOT / ".venv-fhir" / "bin" / "sekmet"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def fhir_server(tmp_path_factory):
    assert SEKMET.exists(), f"{SEKMET} is missing: `make test` installs sekmet-fhir==0.1.1 into .venv-fhir"
    folder = tmp_path_factory.mktemp("sekmet")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    (folder / "settings.yaml").write_text(
        f"base_url: {base}\nhost: 127.0.0.1\nport: {port}\ndata_dir: {folder / 'data'}\nlog_inbound: false\n"
        "simulator: {enabled: false}\nvalidation: {inbound: 'off'}\n"
        "server_auth: {types: [none, bearer], tokens: [e2e-token]}\n")
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen([str(SEKMET), "serve", "-c", str(folder / "settings.yaml")], cwd=folder,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/metadata", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None, (folder / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "sekmet-fhir did not start within 60 s"
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
