"""Progress bars for long work (tqdm), or nothing when they are turned off."""

from __future__ import annotations


def progress_bar(
    iterable=None,
    *,
    enabled: bool = True,
    desc: str,
    unit: str = "step",
    total: int | None = None,
    initial: int = 0,
):
    """A tqdm bar over ``iterable`` (or a manual one of ``total``) when ``enabled``; otherwise the
    iterable itself, or None for a manual bar, so that callers loop the same way either way."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True)
