"""Where a benchmark's numbers come from: the commit of the checkout that produced them."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit() -> str:
    """``git rev-parse --short HEAD`` of the checkout, and whether tracked files differ from it."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} (with uncommitted changes to tracked files)" if dirty else head
