"""Both apps called in this process through WSGI, no socket: the service (`create_app`, as served,
its request log at INFO written to /dev/null) and the naive peer (bench/naive.py).

The WSGI environ is built by hand (no test client), the same way for both, so the figures hold
what each app does with a request and nothing of a client library.
"""
from __future__ import annotations

import io
import logging
import os
import sys
import tempfile
from typing import Any, Callable

from cds_service import config as config_mod

SERVICE_PATH = "/cds-services/leg-pain-claudication"
BENCH_ENV = {"CDS_MAX_BODY_BYTES": str(64 * 1024 * 1024), "CDS_LOG_LEVEL": "INFO"}  # a 10k body is 7.8 MiB


def service_app() -> Any:
    """The service as `cds-service serve` builds it, on SQLite in a temporary folder."""
    from cds_service.app import create_app
    folder = tempfile.mkdtemp(prefix="cds-bench-inprocess-")
    env = {**os.environ, **BENCH_ENV, "CDS_DATABASE_URL": f"sqlite:///{folder}/bench.db"}
    app = create_app(config_mod.from_env(env))
    root = logging.getLogger("cds_service")
    for handler in list(root.handlers):  # the request line is still built and written, to /dev/null
        if getattr(handler, "_cds", False):
            quiet = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - for the life of the process
            quiet.setFormatter(handler.formatter)
            quiet._cds = True  # type: ignore[attr-defined]  # logs.configure's mark: not added twice
            root.removeHandler(handler)
            root.addHandler(quiet)
    return app


def naive_app() -> Any:
    from bench import naive
    return naive.create_app()


def caller(app: Any, body: bytes, path: str = SERVICE_PATH) -> Callable[[], int]:
    """A function that posts `body` to `app` once and returns the HTTP status."""
    base = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False}
    status: list[str] = []

    def start_response(s: str, headers: list, exc_info: Any = None) -> None:
        status.append(s)

    def call() -> int:
        status.clear()
        answer = app({**base, "wsgi.input": io.BytesIO(body)}, start_response)
        try:
            b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        return int(status[0][:3])

    return call
