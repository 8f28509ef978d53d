"""Reading results: a run's metrics, a sweep's summary rows (mean ± std over seeds) and CSV."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np

METRICS = "metrics.jsonl"


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """The metrics history of a run directory (one dict per step)."""
    path = Path(run_dir) / METRICS
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summarise(sweep, results: list[dict]) -> list[dict]:
    """Mean ± std (sample std, n − 1) over seeds of every (mode, point)."""
    rows = []
    fields = list(dict.fromkeys(f for p in sweep.points for f in p))
    for mode in sweep.modes:
        for point in sweep.points:
            hits = [r for r in results if r["mode"] == mode and all(r.get(f) == point.get(f) for f in fields)]
            if not hits:
                continue
            acc = np.array([r["test_acc"] for r in hits], dtype=float)
            row = {
                "mode": mode,
                **{f: point.get(f) for f in fields},
                "seeds": len(hits),
                "test_acc_mean": float(acc.mean()),
                "test_acc_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                "train_queries_mean": float(np.mean([r["train_queries"] for r in hits])),
            }
            rows.append(row)
    return rows


def summary_csv(sweep, results: list[dict]) -> str:
    rows = summarise(sweep, results)
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: ("" if v is None else round(v, 6) if isinstance(v, float) and math.isfinite(v) else v)
                for k, v in row.items()
            }
        )
    return buffer.getvalue()
