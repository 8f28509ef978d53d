"""Where a benchmark's numbers come from: the commit of the checkout that produced them (the package's
``experiments/provenance.py``, which every run's ``summary.json`` records too)."""

from __future__ import annotations

from photonzo.experiments.provenance import git_commit

__all__ = ["git_commit"]
