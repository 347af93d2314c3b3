"""What the commands print is worth reading: no Alembic plugin chatter on ``migrate`` and ``demo``, no Authlib
deprecation warning on ``serve``, a worker or a test run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
BIZZLY = [sys.executable, "-c", "from bizzly.cli import main; main()"]


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("BIZZLY_")},
        "BIZZLY_ENV": "development",
        "BIZZLY_DATA_DIR": str(data_dir),
        "BIZZLY_SECRET_KEYS": TEST_KEY,
    }


def test_migrate_and_demo_print_no_alembic_plugin_lines(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    migrate = subprocess.run(
        [*BIZZLY, "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr
    demo = subprocess.run([*BIZZLY, "demo"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    printed = migrate.stdout + migrate.stderr + demo.stdout + demo.stderr
    assert "Running upgrade" in migrate.stderr  # the revisions it runs are still logged
    assert "setup plugin" not in printed
    assert "alembic.runtime.plugins" not in printed


def test_the_app_imports_without_authlib_deprecation_warnings() -> None:
    # -W default shows every DeprecationWarning once, as `python -W` would for an operator who asks.
    # What `serve` and `worker` import: the app, and every handler the worker registers.
    code = "import bizzly.app, bizzly.wiring; bizzly.wiring.import_handlers()"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "AuthlibDeprecationWarning" not in done.stderr
    assert "httpx2" not in done.stderr


def test_authlib_still_reports_its_other_deprecations() -> None:
    code = (
        "import integrations.hubspot.oauth\n"
        "from authlib.deprecate import deprecate\n"
        "deprecate('a later deprecation', stacklevel=1)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "AuthlibDeprecationWarning: a later deprecation" in done.stderr
