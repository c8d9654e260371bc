"""``cds-service``: serve, evaluate a request file, check the knowledge files, print the card
catalogue and the card report."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config as config_mod, logs
from .errors import StartupError

if TYPE_CHECKING:
    from flask import Flask


def preflight(settings: config_mod.Settings) -> None:
    """Everything a worker would trip over, checked once in the master before any fork: the
    trusted clients, the knowledge files, the database (reached, schema created). A mistake
    raises a StartupError naming the variable, so the operator reads one line, not one
    traceback per worker."""
    from . import knowledge
    from .auth import SANDBOX_CLIENTS, check_client_for_production, load_clients
    from .store import Store, StoreError
    for variable, path in (("CDS_TRUSTED_CLIENTS", settings.trusted_clients),
                           ("CDS_ALLOW_SANDBOX", settings.knowledge_dir / SANDBOX_CLIENTS if settings.allow_sandbox else None)):
        try:
            for client in load_clients(path) if path is not None else ():
                if settings.production and settings.auth == "required":
                    check_client_for_production(client, settings)
        except config_mod.ConfigError as exc:
            raise config_mod.ConfigError(f"{variable}: {exc}") from None
    loaded = knowledge.load(settings.knowledge_dir)
    from .governance import switched_off
    from .snooze import load_key
    switched_off(settings, loaded)  # a CDS_CARDS_OFF typo
    load_key(settings)  # production without a snooze key
    try:
        store = Store(settings.database_url)
        store.create_schema()  # once, in the master, before the workers start
        store.dispose()
    except StoreError as exc:
        raise config_mod.ConfigError(f"CDS_DATABASE_URL: {exc}") from None


def _serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    settings = config_mod.from_env()
    preflight(settings)
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cds-metrics-")
    master = os.getpid()

    class App(BaseApplication):
        def load_config(self) -> None:
            for name, value in gunicorn_settings(args, settings.log_level).items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            from .app import create_app
            return create_app(config_mod.from_env(), body_read_timeout_s=args.body_timeout)

    try:
        App().run()
    finally:
        if metrics_dir and os.getpid() == master:  # workers leave through here too: only the master cleans up
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def gunicorn_settings(args: argparse.Namespace, log_level: str) -> dict[str, Any]:
    """The gunicorn settings of `cds-service serve` (bench/naive.py serves the naive peer with the same)."""
    return {
        "bind": f"{args.host}:{args.port}", "workers": args.workers, "worker_class": "gthread", "threads": args.threads,
        "timeout": 30, "graceful_timeout": 20, "keepalive": 5,
        # Each worker on its own listening socket, the kernel sharing new connections out among them.
        # Without it the workers race to accept from one socket and one of them often takes every
        # kept-alive connection of a burst, serving them all under one GIL while the other idles.
        "reuse_port": args.reuse_port,
        "accesslog": None,  # the app logs one line per request, without the query string
        "control_socket_disable": True,  # one shared ~/.gunicorn/gunicorn.ctl would mix instances
        "logconfig_dict": logs.gunicorn_logconfig(log_level), "logger_class": logs.gunicorn_logger_class(),
        "child_exit": _child_exit, "post_worker_init": _post_worker_init,
    }


def _post_worker_init(worker: Any) -> None:
    """Move the start-up heap (models, value sets, templates) out of the garbage collector's
    sight: decoding a large prefetch then no longer re-scans it (halves the 10,000-resource cost).
    While requests are in flight the collector is paused as well (app.CollectorPause)."""
    import gc
    gc.collect()
    gc.freeze()


def _child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def _evaluate(args: argparse.Namespace) -> int:
    from .engine import Engine, Result
    from .errors import CDSError
    from .knowledge import load

    from .orders.engine import OrderEngine, OrderResult, build, service_id

    settings = config_mod.from_env()
    knowledge = load(settings.knowledge_dir)
    engine: Engine | OrderEngine = Engine(knowledge, settings)
    try:
        body = json.loads(Path(args.request).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.request}: {exc}", file=sys.stderr)
        return 2
    hook = body.get("hook") if isinstance(body, dict) else None
    if hook in ("order-select", "order-sign"):  # one pipeline per hook
        engine = build(knowledge, settings)[service_id(settings, hook)]
    try:
        if isinstance(engine, Engine):  # the link to the questions needs to know where the service is reached
            result: Result | OrderResult = engine.evaluate(body, now=args.now, base_url=args.base_url or settings.public_base_url)
        else:
            result = engine.evaluate(body, now=args.now)
    except CDSError as exc:
        print(json.dumps(exc.outcome(), indent=2))
        return 1
    print(json.dumps(result.response, indent=2, ensure_ascii=False))
    return 0


def _instant(text: str) -> datetime:
    from . import dates
    parsed = dates.parse(text)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 instant: {text!r}")
    return parsed


def _check(args: argparse.Namespace) -> int:
    from .knowledge import KnowledgeError, load
    from .orders.knowledge import OrderKnowledgeError, load as load_orders

    settings = config_mod.from_env()
    base = Path(args.dir) if args.dir else settings.knowledge_dir
    try:
        k = load(base)
        orders = load_orders(base, k)
    except (KnowledgeError, OrderKnowledgeError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    from . import families
    icd = families.tabular()
    if icd is None:
        print("note: ICD-10-CM codes and families not checked against the tabular: simple-icd-10-cm==1.5.0 "
              "is not installed (pip install -c constraints.txt -e '.[test]')", file=sys.stderr)
    else:
        problems = families.check(base, k.terminology.valuesets, icd)
        if problems:
            print("FAILED: value sets disagree with the ICD-10-CM tabular:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
    print(f"ok: {len(k.terminology.valuesets)} value sets ({len(k.terminology.concepts)} codes), "
          f"{len(k.rules.signs)} signs, {len(k.templates)} card templates, "
          f"{len(k.medications.names)} medication classes ({len(k.medications.codes)} RxNorm codes); order rules: "
          f"{len(orders.codes)} codes, {len(orders.cards)} order card templates")
    return 0


def _catalogue(args: argparse.Namespace) -> int:
    from . import catalogue
    from .knowledge import load

    settings = config_mod.from_env()
    k = load(Path(args.dir) if args.dir else settings.knowledge_dir)
    if not args.markdown and not args.html:
        sys.stdout.write(catalogue.markdown(k, settings.snooze_days))
    if args.markdown:
        Path(args.markdown).write_text(catalogue.markdown(k, settings.snooze_days), encoding="utf-8")
    if args.html:
        Path(args.html).write_text(catalogue.html_page(k, settings.snooze_days), encoding="utf-8")
    return 0


def _day_or_instant(text: str) -> Any:
    """--since/--until: an RFC 3339 instant, or a date (midnight UTC)."""
    from datetime import datetime, timezone
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or an RFC 3339 instant: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _report(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta, timezone

    from . import report
    from .store import Store

    settings = config_mod.from_env()
    until = args.until or datetime.now(timezone.utc).replace(microsecond=0)
    since = args.since or until - timedelta(days=28)
    if since >= until:
        print("--since must be before --until", file=sys.stderr)
        return 2
    store = Store(settings.database_url)
    store.create_schema()
    try:
        document, extras = report.build(store, since, until)
    finally:
        store.dispose()
    if args.html:
        Path(args.html).write_text(report.html_page(document, extras), encoding="utf-8")
    if args.json:
        print(json.dumps(document, indent=2, sort_keys=True))
    elif not args.html:
        sys.stdout.write(report.text(document, extras))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cds-service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the CDS Hooks API under gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=32,
                       help="threads per worker: more than the slow clients one worker may hold (see README, Operations)")
    serve.add_argument("--reuse-port", action="store_true",
                       help="each worker listens on its own socket (SO_REUSEPORT) and the kernel shares connections out "
                            "evenly; another process of the same user may then bind the same port without an error")
    serve.add_argument("--body-timeout", type=float, default=10.0,
                       help="seconds a request body may pause before the request gets 408 (three times that in all)")
    serve.set_defaults(func=_serve)
    evaluate = sub.add_parser("evaluate", help="print the response to a hook request file, without a server")
    evaluate.add_argument("request")
    evaluate.add_argument("--now", type=_instant, default=None,
                          help="evaluate as of this RFC 3339 instant (the examples are dated 2026-11-27T12:00:00Z)")
    evaluate.add_argument("--base-url", default=None,
                          help="where the service is reached, for the cards' link to the questions "
                               "(default: CDS_PUBLIC_BASE_URL; without either, no such link)")
    evaluate.set_defaults(func=_evaluate)
    check = sub.add_parser("check", help="validate valuesets/, knowledge/ and cards/")
    check.add_argument("--dir", help="folder holding valuesets/, knowledge/ and cards/ (default: CDS_KNOWLEDGE_DIR)")
    check.set_defaults(func=_check)
    cat = sub.add_parser("catalogue", help="print (or write) the table of every card variant, from the knowledge files")
    cat.add_argument("--dir", help="folder holding valuesets/, knowledge/ and cards/ (default: CDS_KNOWLEDGE_DIR)")
    cat.add_argument("--markdown", metavar="FILE", help="write the Markdown table to FILE")
    cat.add_argument("--html", metavar="FILE", help="write a self-contained HTML page to FILE")
    cat.set_defaults(func=_catalogue)
    rep = sub.add_parser("report", help="cards shown, accepted, overridden and snoozed over a period (CDS_DATABASE_URL)")
    rep.add_argument("--since", type=_day_or_instant, help="start (date or RFC 3339 instant; default: 28 days before --until)")
    rep.add_argument("--until", type=_day_or_instant, help="end, exclusive (default: now)")
    rep.add_argument("--json", action="store_true", help="print the figures as JSON")
    rep.add_argument("--html", metavar="FILE", help="write a self-contained HTML page with a weekly plot per pattern")
    rep.set_defaults(func=_report)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except config_mod.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:  # broken knowledge files
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
