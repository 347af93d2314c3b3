"""A fresh clone stands alone: ``git clone`` of this commit into an empty folder (nothing beside it), then
the contract test and a representative slice (isolation, a WhatsApp webhook end to end, the outbox relay,
a real Redis) run there on PostgreSQL, with the configured servers pointed at closed ports so that the
clone's own conftest starts a private PostgreSQL and Redis and stops them after.

The clone's tests run with this interpreter (the venv ``make install`` built) from the clone's folder: what
they import is the clone's code, not this checkout's (checked first).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLICE = [
    "tests/contract",
    "tests/isolation/test_rls.py",
    "tests/integrations/whatsapp/test_public_e2e.py",
    "tests/workers/test_relay.py",
    "tests/ops/test_health.py::test_readyz_pings_a_real_redis",
]

pytestmark = pytest.mark.postgres_only  # once per `make test`: in the PostgreSQL session


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_a_fresh_clone_passes_its_contract_and_a_slice_on_private_servers(
    tmp_path: Path, closed_port: int
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    clone = empty / "bizzly"
    head = _git("rev-parse", "HEAD", cwd=REPO)
    _git("clone", "--quiet", "--no-checkout", str(REPO), str(clone), cwd=tmp_path)
    _git("checkout", "--quiet", "--detach", head, cwd=clone)
    assert sorted(p.name for p in empty.iterdir()) == ["bizzly"]

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BIZZLY_", "PYTEST_", "PG"))},
        "PYTHONPATH": str(clone),
        "BIZZLY_TEST_DB": "postgresql",
        "BIZZLY_TEST_PG_PORT": str(closed_port),
        "BIZZLY_TEST_REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
    }
    where = subprocess.run(
        [sys.executable, "-c", "import bizzly, tests.conftest; print(bizzly.__file__)"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(clone), where.stdout

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *SLICE],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    summary = re.search(r"(\d+) passed", output)
    assert summary is not None, output[-3000:]
    assert int(summary.group(1)) > 60, output[-3000:]
    assert "started for this run and stopped: a private PostgreSQL and Redis" in output
