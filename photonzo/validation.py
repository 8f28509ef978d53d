"""Shared checks of user-facing values: each error names the bad value and the accepted range."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from pathlib import Path

# no numpy here: the CLI's options and --help are checked with this module, and numpy takes a
# noticeable part of a second to import (its integers are ``numbers.Integral``)


def is_int(value) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(
    name: str, value, minimum: int | None = None, maximum: int | None = None, error=ValueError
) -> int:
    """An integer in [minimum, maximum] (either end optional); ``error`` is the exception raised."""
    if (
        not is_int(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        if minimum == 1 and maximum is None:
            raise error(f"{name} must be a positive integer, got {value!r}")
        bounds = " and ".join(
            b
            for b in (
                f">= {minimum}" if minimum is not None else "",
                f"<= {maximum}" if maximum is not None else "",
            )
            if b
        )
        raise error(f"{name} must be an integer{' ' + bounds if bounds else ''}, got {value!r}")
    return int(value)


def check_choice(name: str, value, choices: Iterable):
    """``value`` must be one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; accepted values are {', '.join(map(str, choices))}")
    return value


def check_positive(name: str, value, integer: bool = False):
    """A positive integer, or a positive finite number (bools refused)."""
    ok = not isinstance(value, bool) and (
        isinstance(value, int) if integer else isinstance(value, (int, float))
    )
    if not ok or not value > 0 or (not integer and not math.isfinite(value)):
        kind = "a positive integer" if integer else "a positive finite number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return value


def check_non_negative(name: str, value):
    """A finite real number >= 0 (numpy's numbers too; bools refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def check_positive_int(name: str, value, error=ValueError) -> int:
    """``value`` if it is an integer >= 1, else ``error`` (``ValueError``) naming ``name``."""
    return check_int(name, value, 1, error=error)


def check_optional_positive_int(name: str, value) -> int | None:
    """None, or ``value`` if it is an integer >= 1 (else ``ValueError``)."""
    return None if value is None else check_positive_int(name, value)


def check_non_negative_int(name: str, value) -> int:
    """``value`` if it is an integer >= 0, else ``ValueError`` naming ``name``."""
    return check_int(name, value, 0)


def available_memory() -> int | None:
    """Bytes of memory the system can still give (Linux's MemAvailable), or None where unknown."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    found = [int(line.split()[1]) * 1024 for line in lines if line.startswith("MemAvailable:")]
    return found[0] if found else None


def check_memory(nbytes: float, what: str, hint: str) -> None:
    """Refuse, before any work, a call that would allocate more than the machine has."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise ValueError(
            f"{what} would need {nbytes / 2**30:.1f} GiB of memory, but {available / 2**30:.1f} GiB "
            f"are available; {hint}"
        )


SEED_LIMIT = 2**63  # numpy takes any seed >= 0, torch's generators fewer than 2**64; a run also uses seed + 1


def check_seed(name: str, value) -> int:
    """A random seed: an integer in 0..2**63 − 1."""
    if not is_int(value) or not 0 <= value < SEED_LIMIT:
        raise ValueError(f"{name} must be an integer in 0..2**63 − 1, got {value!r}")
    return int(value)


def check_fraction(name: str, value, closed_top: bool = True, open_bottom: bool = False) -> float:
    """A number in [0, 1] (``closed_top=False``: [0, 1); ``open_bottom``: (0, …))."""
    low_ok = value > 0 if open_bottom else value >= 0
    high_ok = value <= 1 if closed_top else value < 1
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low_ok and high_ok):
        interval = ("(" if open_bottom else "[") + "0, 1" + ("]" if closed_top else ")")
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return value
