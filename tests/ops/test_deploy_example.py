"""The production example in ``deploy/`` stays true to the code: the env file names only real settings and
passes production's checks, each systemd unit runs a real ``bizzly`` command with real options and the env
file, and nginx forwards to the port the env file sets, with room for Meta's largest webhook."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
import typer
from dotenv import dotenv_values
from typer.core import TyperGroup

from bizzly import cli
from bizzly.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV_FILE = DEPLOY / "bizzly.env"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
NGINX = DEPLOY / "nginx" / "bizzly.conf"
# Where deploy/README.md installs things; the units must agree.
INSTALLED_ENV = "/etc/bizzly/bizzly.env"
INSTALLED_BIZZLY = "/opt/bizzly/.venv/bin/bizzly"


def _env() -> dict[str, str]:
    values = dotenv_values(ENV_FILE)
    assert all(v is not None for v in values.values())
    return {k: str(v) for k, v in values.items()}


def _filled(values: dict[str, str]) -> dict[str, str]:
    """The env file with each ``<placeholder>`` replaced as an operator would (URL-safe text)."""
    return {k: re.sub(r"<[^>]*>", "x" * 40, v) for k, v in values.items()}


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(path)
    return parser


def test_every_variable_of_the_env_file_is_a_setting() -> None:
    names = set(_env())
    assert names, ENV_FILE
    unknown = {n for n in names if n.removeprefix("BIZZLY_").lower() not in Settings.model_fields}
    assert unknown == set()
    assert all(n.startswith("BIZZLY_") for n in names)


def test_the_env_file_passes_the_production_checks() -> None:
    fields = {k.removeprefix("BIZZLY_").lower(): v for k, v in _filled(_env()).items()}
    settings = Settings(**fields)  # type: ignore[arg-type]
    assert settings.env == "production"
    settings.check_production()  # PostgreSQL, a real broker, SMTP, a usable key ring
    assert settings.public_url.startswith("https://")
    assert settings.graphiql_enabled is False


def test_the_example_has_the_three_processes_and_migrate() -> None:
    commands = {shlex.split(_unit(u)["Service"]["ExecStart"])[1] for u in UNITS}
    assert commands == {"migrate", "serve", "worker", "scheduler"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_each_unit_runs_a_real_command_with_the_env_file(unit: Path) -> None:
    service = _unit(unit)["Service"]
    assert service["EnvironmentFile"] == INSTALLED_ENV
    program, name, *args = shlex.split(service["ExecStart"])
    assert program == INSTALLED_BIZZLY
    command = typer.main.get_command(cli.app)
    assert isinstance(command, TyperGroup)
    sub = command.commands.get(name)
    assert sub is not None, f"bizzly has no command {name!r}"
    # The options parse as the real command would parse them (unknown options or bad values fail).
    sub.make_context(name, list(args))
    if name != "migrate":
        assert _unit(unit)["Unit"]["Requires"] == "bizzly-migrate.service"
        assert service["Restart"] == "always"


def test_nginx_forwards_to_the_port_of_the_env_file_with_room_for_meta_webhooks() -> None:
    conf = NGINX.read_text()
    env = _env()
    upstream = re.search(r"upstream bizzly_web \{\s*server ([\d.]+):(\d+);", conf)
    assert upstream is not None
    assert (upstream.group(1), upstream.group(2)) == (env["BIZZLY_HOST"], env["BIZZLY_PORT"])
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    assert size is not None
    assert int(size.group(1)) * 1024 * 1024 >= Settings().whatsapp_max_body_bytes
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    host = re.search(r"server_name (\S+);", conf)
    assert host is not None
    assert env["BIZZLY_PUBLIC_URL"] == f"https://{host.group(1)}"
