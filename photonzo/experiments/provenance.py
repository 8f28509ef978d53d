"""Where a result comes from: the commit of the checkout that produced it and the software it ran on,
written into every run's ``summary.json`` (and every benchmark's results) so that a number can be
traced back and reproduced."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

NOT_A_CHECKOUT = "unknown (not a git checkout)"


def git_commit(root: str | Path | None = None) -> str:
    """``git rev-parse --short HEAD`` of the checkout holding ``root`` (default: the one holding this
    package), marked when tracked files differ from it. A package installed outside its checkout (in
    site-packages) reports ``NOT_A_CHECKOUT`` rather than the commit of whatever repository happens
    to enclose the environment."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root.resolve():
            return NOT_A_CHECKOUT
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return NOT_A_CHECKOUT
    return f"{head} (with uncommitted changes to tracked files)" if dirty else head


def software() -> dict:
    """The commit, the package and torch versions, Python and the machine of this process."""
    import torch

    from .. import __version__

    return {
        "commit": git_commit(),
        "photonzo": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {platform.system()}",
    }
