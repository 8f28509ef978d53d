"""Reading results: a run's metrics, summary, learning curve and estimator switches; a sweep's digital
training records, summary rows (mean ± std over seeds) and CSV."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from ..training.recorder import parse_record

METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
DIGITAL = "backprop"  # a sweep's digital (back-propagation) weights: seed<N>.npz and seed<N>.json


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """The metrics history of a run directory (one dict per step)."""
    path = Path(run_dir) / METRICS
    lines = path.read_text().splitlines()
    return [parse_record(line, path, i + 1) for i, line in enumerate(lines) if line.strip()]


def read_summary(run_dir: str | os.PathLike) -> dict | None:
    """The summary of a finished run directory (written last), or None while the run is not finished."""
    path = Path(run_dir) / SUMMARY
    return json.loads(path.read_text()) if path.exists() else None


def learning_curve(history: list[dict], key: str = "val_acc") -> list[tuple[int, float]]:
    """(training queries, ``key``) at every evaluation of a metrics history."""
    return [(r["queries"], r[key]) for r in history if key in r]


def method_switches(history: list[dict]) -> list[dict]:
    """The records of the steps where the estimator changed (a hybrid's switch), in order."""
    return [r for a, r in zip(history, history[1:]) if a["method"] != r["method"]]


def digital_results(sweep_dir: str | os.PathLike) -> list[dict]:
    """The records of a sweep's digital trainings, one per seed trained so far (by seed): ``seed``,
    ``digital_test_acc``, ``steps``, ``wall_s``."""
    paths = (Path(sweep_dir) / DIGITAL).glob("seed*.json")
    return sorted((json.loads(p.read_text()) for p in paths), key=lambda r: r["seed"])


def summarise(results: list[dict], points: list[dict], modes: list[str]) -> list[dict]:
    """Mean ± std (sample std, n − 1) over seeds of every (mode, point) of cell ``results``."""
    rows = []
    fields = list(dict.fromkeys(f for p in points for f in p))
    for mode in modes:
        for point in points:
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


def summary_csv(results: list[dict], points: list[dict], modes: list[str]) -> str:
    """``summarise`` as CSV (empty when nothing finished)."""
    rows = summarise(results, points, modes)
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
