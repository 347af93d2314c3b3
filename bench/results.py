"""The machine-readable side of every benchmark: one JSON line per figure, appended to the file named by
``BIZZLY_BENCH_RESULTS`` (set by ``make bench``; unset, nothing is written and the script only prints).

Each figure is recorded beside its same-run baseline and its goal, so ``make bench`` can render
``docs/performance.md`` from the file alone.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

RESULTS_ENV = "BIZZLY_BENCH_RESULTS"


def record(
    *,
    bench: str,
    metric: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    baseline_label: str | None = None,
    goal: str | None = None,
    extra: dict[str, object] | None = None,
) -> None:
    """Append one figure; ``ratio`` is ``value / baseline`` when there is a baseline."""
    target = os.environ.get(RESULTS_ENV)
    if not target:
        return
    line = {
        "bench": bench,
        "metric": metric,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_label": baseline_label,
        "ratio": (value / baseline) if baseline else None,
        "goal": goal,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **({"extra": extra} if extra else {}),
    }
    with Path(target).open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
