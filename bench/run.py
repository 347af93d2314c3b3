"""``make bench``: every benchmark of ``bench/`` in one run, then the summary of ``docs/performance.md``.

Starts what the benchmarks need that they do not start themselves: a private PostgreSQL and Redis (on free
ports in a temporary directory, as the chaos suite does; ``--shared`` uses the ones on 127.0.0.1:5432 and
:6379 instead). Each benchmark starts its own servers, workers and fakes. Every ``bench/*.py`` but this
file, its helpers (``harness``, ``results``, ``wrk``), the soak and the profilers is run in turn under
a progress bar, with ``BIZZLY_BENCH_RESULTS`` set: each figure it ``record``\\ s (``bench/results.py``)
lands in one JSON-lines file, and the summary table (figure, same-run baseline, ratio, goal) and the
plots (``docs/img/``) are rendered from that file alone, into the ``make bench`` section at the top of
``docs/performance.md``.

``--quick`` is a smoke run: benchmarks get ``--quick`` (small sizes, short rounds) and ``--no-write``
(their own detailed sections keep the last full figures; the summary says it was a quick run).

Plots, from the ``extra`` of a figure:
- ``webhook_ingest``: ``{"levels": [{"concurrency", "rps", "p50_ms", "p99_ms"}, ...]}``, latency over load;
- ``hubspot_sync``: ``{"progress": [[seconds, records], ...]}`` and, as the figure's baseline (or
  ``extra.ceiling_per_second``), HubSpot's allowance in records per second: sync progress against it.

    .venv/bin/python bench/run.py            # everything, full size
    .venv/bin/python bench/run.py --quick    # a smoke run (a few minutes)
    .venv/bin/python bench/run.py --only webhook_ingest --only api_overhead
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness import PERFORMANCE_MD, write_section  # noqa: E402
from bench.results import RESULTS_ENV  # noqa: E402
from bench.wrk import ensure_wrk  # noqa: E402

BENCH_DIR = REPO / "bench"
IMG_DIR = REPO / "docs" / "img"
# Not benchmarks: helpers, the soak, and the profilers (run by hand; their findings are in the notes).
HELPERS = {"run", "harness", "results", "soak", "wrk", "profile_webhook", "profile_processing", "__init__"}
START = "<!-- make bench: start -->"
END = "<!-- make bench: end -->"
TITLE = "# Performance\n"


def benchmarks(only: list[str] | None) -> list[Path]:
    found = sorted(p for p in BENCH_DIR.glob("*.py") if p.stem not in HELPERS)
    if only:
        found = [p for p in found if p.stem in only]
        missing = set(only) - {p.stem for p in found}
        if missing:
            raise SystemExit(f"no such benchmark: {', '.join(sorted(missing))}")
    return found


def command(script: Path, *, quick: bool) -> list[str]:
    """The script with ``--quick --no-write`` in a quick run, where it takes them."""
    source = script.read_text()
    args = [sys.executable, str(script)]
    if quick:
        args += [flag for flag in ("--quick", "--no-write") if f'"{flag}"' in source]
    return args


class Services:
    """PostgreSQL and Redis for the run: private ones (the chaos suite's) unless ``--shared``."""

    def __init__(self, shared: bool) -> None:
        self.shared = shared
        self.root: Path | None = None
        self.pg: Any = None
        self.redis: Any = None

    def start(self) -> dict[str, str]:
        if self.shared:
            return {"BIZZLY_BENCH_BROKER": "redis://127.0.0.1:6379/0"}
        from tests.chaos.cluster import PrivatePostgres, PrivateRedis, pg_bin

        if pg_bin() is None:
            raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl): use --shared")
        self.root = Path(tempfile.mkdtemp(prefix="bizzly-bench-"))
        os.chmod(self.root, 0o755)
        self.pg = PrivatePostgres(self.root)
        self.pg.init()
        self.redis = PrivateRedis(self.root)
        self.redis.start()
        # libpq and asyncpg read PGPORT when a URL or call names no port: every benchmark's
        # "postgres@127.0.0.1" reaches the private server without a change.
        return {"PGPORT": str(self.pg.port), "BIZZLY_BENCH_BROKER": self.redis.url}

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.kill()
        if self.pg is not None:
            self.pg.close()
        if self.root is not None:
            import shutil

            shutil.rmtree(self.root, ignore_errors=True)


def run_all(scripts: list[Path], env: dict[str, str], logs: Path, *, quick: bool) -> list[dict[str, Any]]:
    from tqdm import tqdm  # type: ignore[import-untyped]

    outcomes = []
    with tqdm(scripts, unit="bench", desc="make bench", file=sys.stdout) as bar:
        for script in bar:
            bar.set_postfix_str(script.stem)
            log = logs / f"{script.stem}.log"
            started = time.monotonic()
            with log.open("wb") as out:
                done = subprocess.run(
                    command(script, quick=quick), env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
                )
            seconds = time.monotonic() - started
            outcomes.append(
                {"bench": script.stem, "ok": done.returncode == 0, "seconds": seconds, "log": str(log)}
            )
            if done.returncode != 0:
                tail = log.read_text(errors="replace")[-1500:]
                bar.write(f"{script.stem} failed ({done.returncode}); last lines of {log}:\n{tail}")
    return outcomes


def read_results(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- plots -------------------------------------------------------------------------------------------


def plot_webhook_latency(figures: list[dict[str, Any]]) -> str | None:
    levels = next(
        (
            f["extra"]["levels"]
            for f in figures
            if f["bench"] == "webhook_ingest" and "levels" in f.get("extra", {})
        ),
        None,
    )
    if not levels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [lv["concurrency"] for lv in levels]
    fig, left = plt.subplots(figsize=(7, 4))
    left.plot(xs, [lv["p50_ms"] for lv in levels], marker="o", label="p50")
    left.plot(xs, [lv["p99_ms"] for lv in levels], marker="o", label="p99")
    left.set_xscale("log", base=2)
    left.set_xticks(xs, [str(x) for x in xs])
    left.set_xlabel("concurrent senders")
    left.set_ylabel("latency (ms)")
    right = left.twinx()
    right.plot(xs, [lv["rps"] for lv in levels], color="tab:green", marker="s", label="acknowledged/s")
    right.set_ylabel("acknowledged per second")
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    left.legend(handles, [str(h.get_label()) for h in handles], loc="upper left", fontsize=8)
    left.set_title("WhatsApp webhook ingest: latency over load")
    fig.tight_layout()
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG_DIR / "webhook_latency.png", dpi=100)
    plt.close(fig)
    return "img/webhook_latency.png"


def plot_hubspot_sync(figures: list[dict[str, Any]]) -> str | None:
    figure = next(
        (f for f in figures if f["bench"] == "hubspot_sync" and "progress" in f.get("extra", {})), None
    )
    if not figure:
        return None
    extra = figure["extra"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(float(t), float(n)) for t, n in extra["progress"]]
    fig, axis = plt.subplots(figsize=(7, 4))
    axis.plot([t for t, _ in points], [n for _, n in points], marker=".", label="records synced")
    # The ceiling in records per second: in ``extra``, else the figure's baseline (hubspot_sync.py's).
    ceiling = extra.get("ceiling_per_second") or figure.get("baseline")
    if ceiling:
        end = max(t for t, _ in points)
        axis.plot(
            [0, end], [0, end * float(ceiling)], linestyle="--", color="grey", label="HubSpot's ceiling"
        )
    axis.set_xlabel("seconds")
    axis.set_ylabel("records")
    axis.legend(fontsize=8)
    axis.set_title("HubSpot sync progress against the API ceiling")
    fig.tight_layout()
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG_DIR / "hubspot_sync.png", dpi=100)
    plt.close(fig)
    return "img/hubspot_sync.png"


# --- the summary ---------------------------------------------------------------------------------------


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def render(
    figures: list[dict[str, Any]],
    outcomes: list[dict[str, Any]],
    *,
    quick: bool,
    took: float,
    plots: list[str],
) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    mode = (
        "a **quick** smoke run (`--quick`: small sizes, short rounds; not figures to quote)"
        if quick
        else "a full run"
    )
    lines = [
        START,
        "## Summary (`make bench`)",
        "",
        f"Measured {when} UTC by `make bench` ({mode}) in {took / 60:.1f} min on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}); every figure beside its baseline "
        "measured in the same run. Ratio = figure / baseline. Details and method: each benchmark's own "
        "section below.",
        "",
        "| benchmark | figure | value | same-run baseline | ratio | goal |",
        "|---|---|---:|---|---:|---|",
    ]
    for f in figures:
        baseline = (
            f"{_num(f.get('baseline'), f['unit'])} ({f.get('baseline_label') or '—'})"
            if f.get("baseline") is not None
            else "—"
        )
        ratio = f"{f['ratio']:.2f}×" if f.get("ratio") is not None else "—"
        value, goal = _num(f["value"], f["unit"]), f.get("goal") or "—"
        lines.append(f"| `{f['bench']}` | {f['metric']} | {value} | {baseline} | {ratio} | {goal} |")
    recorded = {f["bench"] for f in figures}
    for o in outcomes:
        if not o["ok"]:
            lines.append(f"| `{o['bench']}` | **failed** (see `make bench` output) | | | | |")
        elif o["bench"] not in recorded:
            lines.append(f"| `{o['bench']}` | ran, recorded no figure (`bench.results.record`) | | | | |")
    lines += ["", "Run times: " + ", ".join(f"`{o['bench']}` {o['seconds']:.0f} s" for o in outcomes) + "."]
    for plot in plots:
        lines += ["", f"![{Path(plot).stem.replace('_', ' ')}]({plot})"]
    lines.append(END)
    return "\n".join(lines)


def write_summary(section: str) -> None:
    text = PERFORMANCE_MD.read_text() if PERFORMANCE_MD.exists() else TITLE
    if START not in text:
        # The summary goes first, under the title and its paragraph.
        head, sep, rest = text.partition("\n<!--")
        PERFORMANCE_MD.write_text(
            head.rstrip("\n") + "\n\n" + START + "\n" + END + "\n" + (sep + rest if sep else "")
        )
    write_section(START, END, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes, sections left alone")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)"
    )
    parser.add_argument("--shared", action="store_true", help="use PostgreSQL and Redis on their usual ports")
    parser.add_argument("--no-write", action="store_true", help="print the summary; leave docs/ alone")
    parser.add_argument("--render", type=Path, metavar="LOGS", help="only render a past run's LOGS directory")
    args = parser.parse_args()
    if args.render:
        logs = args.render
        results = logs / "results.jsonl"
        saved = json.loads((logs / "outcomes.json").read_text()) if (logs / "outcomes.json").exists() else {}
        outcomes, took = saved.get("outcomes", []), float(saved.get("took", 0.0))
        args.quick = bool(saved.get("quick", args.quick))
    else:
        scripts = benchmarks(args.only)
        ensure_wrk()  # the HTTP benchmarks' load generator (installed with apt-get on a fresh machine)
        logs = Path(tempfile.mkdtemp(prefix="bizzly-bench-logs-"))
        results = logs / "results.jsonl"
        services = Services(args.shared)
        started = time.monotonic()
        try:
            env = {**os.environ, **services.start(), RESULTS_ENV: str(results), "PYTHONPATH": str(REPO)}
            outcomes = run_all(scripts, env, logs, quick=args.quick)
        finally:
            services.stop()
        took = time.monotonic() - started
        saved = {"outcomes": outcomes, "took": took, "quick": args.quick}
        (logs / "outcomes.json").write_text(json.dumps(saved))
    figures = read_results(results)
    plots = (
        [] if args.no_write else [p for p in (plot_webhook_latency(figures), plot_hubspot_sync(figures)) if p]
    )
    section = render(figures, outcomes, quick=args.quick, took=took, plots=plots)
    print(section)
    print(f"\nlogs and results: {logs}; took {took / 60:.1f} min")
    if not args.no_write:
        write_summary(section)
        print(f"written to {PERFORMANCE_MD.relative_to(REPO)}")
    if not all(o["ok"] for o in outcomes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
