"""The native load generator of the HTTP benchmarks: ``wrk`` (Debian's package) with pre-signed bodies.

A Python load generator shares the two cores with the server it measures and spends more CPU per request
than the server does on a cheap route; ``wrk`` is C and takes a few percent. The bodies (each a new wamid)
are signed here, before the round, and written one per line for ``bench/wrk_bodies.lua``.

``ensure_wrk()`` installs it with apt-get when it is missing and this runs as root (a fresh machine);
otherwise it says how.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().with_name("wrk_bodies.lua")
THREADS = 2


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("the benchmarks need wrk: `sudo apt-get install -y wrk` (Debian/Ubuntu)")


@dataclass
class WrkRound:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def write_bodies(path: Path, bodies: Iterable[tuple[str, bytes]]) -> int:
    """``(signature header, raw body)`` pairs, one a line; the bodies must hold no newline."""
    n = 0
    with path.open("wb") as out:
        for signature, raw in bodies:
            if b"\n" in raw or "\t" in signature:
                raise ValueError("a body with a newline, or a signature with a tab, cannot be written")
            out.write(signature.encode() + b"\t" + raw + b"\n")
            n += 1
    return n


def run(
    url: str,
    path: str,
    name: str,
    make_bodies: Callable[[int], Iterable[tuple[str, bytes]]],
    *,
    seconds: float,
    connections: int,
    expected_rate: int = 4000,
) -> WrkRound:
    """One round of ``wrk`` POSTing fresh pre-signed bodies to ``url + path``; ``expected_rate`` sizes the
    bodies made (a few more than the round can send, so none is sent twice)."""
    wrk = ensure_wrk()
    threads = max(1, min(THREADS, connections))
    with tempfile.TemporaryDirectory(prefix="bizzly-wrk-") as tmp:
        bodies = Path(tmp) / "bodies"
        write_bodies(bodies, make_bodies(int(expected_rate * seconds) + 100))
        env = {**os.environ, "WRK_BODIES": str(bodies), "WRK_PATH": path, "WRK_THREADS": str(threads)}
        done = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(SCRIPT),
                url,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    result = json.loads(line.removeprefix("WRK_RESULT "))
    errors = int(result["non_2xx"]) + int(result["socket_errors"])
    return WrkRound(
        name=name,
        requests=int(result["requests"]) - int(result["non_2xx"]),
        seconds=int(result["duration_us"]) / 1e6,
        p50_ms=int(result["p50_us"]) / 1000,
        p99_ms=int(result["p99_us"]) / 1000,
        max_ms=int(result["max_us"]) / 1000,
        errors=errors,
    )
