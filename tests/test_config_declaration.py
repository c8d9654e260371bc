"""Settings declared once: the README table comes from the declaration, every variable is
parsed and checked from it, and `serve` refuses a bad setting in one line before any worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cds_service import cli, config
from cds_service.config import REPO_ROOT, ConfigError, from_env
from tools import readme_settings


def test_readme_table_is_the_declaration():
    """Run `python -m tools.readme_settings` after changing a setting."""
    assert readme_settings.current((REPO_ROOT / "README.md").read_text(encoding="utf-8")) == config.markdown_table()


def test_every_declared_variable_is_read():
    for f in config.declared():
        assert f.metadata["env"].startswith("CDS_") and f.metadata["doc"]
    names = [f.metadata["env"] for f in config.declared()]
    assert len(names) == len(set(names))


def test_production_column_is_the_preset():
    s = from_env({"CDS_ENV": "production", "CDS_TRUSTED_CLIENTS": "/x.json", "CDS_PUBLIC_BASE_URL": "https://cds.example"})
    for f in config.declared():
        if f.metadata["production"] is not config._SAME:
            assert getattr(s, f.name) == f.metadata["production"], f.name


@pytest.mark.parametrize("env,message", [
    ({"CDS_LOG_LEVEL": "LOUD"}, "CDS_LOG_LEVEL must be DEBUG"),
    ({"CDS_DATABASE_URL": "not a url"}, "CDS_DATABASE_URL is not a database URL"),
    ({"CDS_DATABASE_URL": "mysql://u@h/db"}, "CDS_DATABASE_URL"),
    ({"CDS_MAX_BODY_BYTES": "12"}, "CDS_MAX_BODY_BYTES must be at least 1024"),
    ({"CDS_PUBLIC_BASE_URL": "cds.example.org"}, "CDS_PUBLIC_BASE_URL must be an absolute"),
])
def test_each_parser_names_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        from_env(env)


def _serve(tmp_path, **env):
    """`cds-service serve` with a broken setting: it must stop in the master, before gunicorn starts."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    base.update({"CDS_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite", **env})
    return subprocess.run([sys.executable, "-m", "cds_service.cli", "serve", "--port", "0"], env=base,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("env,message", [
    ({"CDS_LOG_LEVEL": "LOUD"}, "CDS_LOG_LEVEL"),
    ({"CDS_FHIR_TIMEOUT_MS": "soon"}, "CDS_FHIR_TIMEOUT_MS must be a whole number"),
    ({"CDS_DATABASE_URL": "postgresql://"}, "CDS_DATABASE_URL"),
    ({"CDS_AUTH": "required", "CDS_TRUSTED_CLIENTS": "/no/such/clients.json"}, "CDS_TRUSTED_CLIENTS"),
])
def test_serve_refuses_a_bad_setting_in_one_line(tmp_path, env, message):
    result = _serve(tmp_path, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_invalid_clients_file(tmp_path):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({"clients": [{"iss": "x"}]}))
    result = _serve(tmp_path, CDS_AUTH="required", CDS_TRUSTED_CLIENTS=str(clients))
    assert result.returncode == 2 and result.stderr.startswith("configuration error: CDS_TRUSTED_CLIENTS:"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_preflight_passes_on_the_shipped_setup(tmp_path):
    cli.preflight(config.Settings(database_url=f"sqlite:///{tmp_path}/db.sqlite"))
