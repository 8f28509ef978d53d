"""Every public name has a docstring, and every module is in the API reference.

"Public", for this test and for the docs (``docs/api``):

* a module: every module of the package (``pkgutil.walk_packages``), each with a docstring;
* its public names: those in its ``__all__`` where it has one, else the classes and functions it
  defines (``__module__`` is the module) whose names do not start with ``_``; for ``photonzo``
  itself, the curated ``photonzo.__all__``;
* a public class's public members: the methods, class and static methods and properties its body
  defines whose names do not start with ``_``. A member that overrides a documented one of a base
  class inherits its docstring (``inspect.getdoc``), as the docs show it.

Module constants are described in their module's docstring (or a ``#:`` comment), not checked
here. The docstrings state units and conventions (radians, dB, photons, seconds, joules); no test
can read that, review does.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import photonzo

ROOT = Path(__file__).resolve().parent.parent

# Public names still without a docstring, each skipped here until its docstring is written; then
# its entry must go (test_pending_names_are_still_pending says which). None are pending now: a
# public name that lands without a docstring fails test_every_public_name_has_a_docstring.
PENDING: dict[str, list[str]] = {}


def modules() -> list[str]:
    return ["photonzo"] + sorted(m.name for m in pkgutil.walk_packages(photonzo.__path__, "photonzo."))


def public_names(module) -> list[str]:
    if module.__name__ == "photonzo" or hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module.__name__
    ]


def members(cls) -> list[str]:
    out = []
    for name, obj in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if inspect.isfunction(obj) or isinstance(obj, property):
            out.append(name)
    return out


def undocumented(module_name: str) -> list[str]:
    """The module's public names (and public classes' members) without a docstring."""
    module = importlib.import_module(module_name)
    missing = [] if (module.__doc__ or "").strip() else ["<module docstring>"]
    for name in public_names(module):
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants: described in the module docstring
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj) and obj.__module__ == module_name:
            missing += [
                f"{name}.{m}" for m in members(obj) if not (inspect.getdoc(getattr(obj, m)) or "").strip()
            ]
    return missing


@pytest.mark.parametrize("module_name", modules())
def test_every_public_name_has_a_docstring(module_name):
    pending = set(PENDING.get(module_name, ()))
    missing = [name for name in undocumented(module_name) if name not in pending]
    assert not missing, (
        f"{module_name}: public names without a docstring: {missing} (say what each is, with its units)"
    )


def test_pending_names_are_still_pending():
    """A pending name whose docstring was written must leave PENDING, so that it stays checked."""
    done = {
        module: sorted(set(names) - set(undocumented(module)))
        for module, names in PENDING.items()
        if set(names) - set(undocumented(module))
    }
    assert not done, f"these now have docstrings: remove them from PENDING in tests/test_docs.py: {done}"


def test_every_module_is_in_the_api_reference():
    """A new module must be added to a page of docs/api (its docstrings are the reference)."""
    pages = "\n".join(p.read_text() for p in (ROOT / "docs" / "api").glob("*.md"))
    documented = set(re.findall(r"automodule:: (photonzo[\w.]*)", pages))
    missing = sorted(set(modules()) - {"photonzo"} - documented)
    assert not missing, f"modules missing from docs/api/*.md: {missing}"
