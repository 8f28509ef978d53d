"""Sphinx directives of the photonzo docs: tables generated from the library at build time.

``curated-api``: every name of ``photonzo.__all__``, linked to where it is documented, with the
first line of its docstring, so the list cannot drift from the package.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def _summary(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    return first.replace("|", "\\|")


class CuratedAPI(SphinxDirective):
    """A table of ``photonzo.__all__``: name (linked), module, summary."""

    has_content = False

    def run(self):
        import photonzo

        rows = []
        for name in photonzo.__all__:
            module = photonzo._PUBLIC[name]
            obj = getattr(importlib.import_module(module), name)
            role = "class" if inspect.isclass(obj) else "func"
            rows.append((f":py:{role}:`~{module}.{name}`", f"``{module}``", _summary(obj)))
        text = [".. list-table::", "   :header-rows: 1", "   :widths: 20 30 50", ""]
        text += ["   * - name", "     - defined in", "     - what it is"]
        for cells in rows:
            text.append(f"   * - {cells[0]}")
            text += [f"     - {c}" for c in cells[1:]]
        node = nodes.container()
        self.state.nested_parse(StringList(text, source="curated-api"), self.content_offset, node)
        return node.children


# ---- plain-text docstrings as reStructuredText -----------------------------------------------
#
# photonzo's docstrings are written to be read as plain text (``help()``, an editor): equations,
# port drawings and tables are indented blocks, and |x| is a modulus. reStructuredText would read
# an indented block as a quotation (and break on a drawing's ragged indentation) and |x| as a
# substitution. ``plain_text_docstring`` keeps what the author drew: every indented block that is
# not a list or the continuation of a list item becomes a literal block, and a bar outside literal
# text is escaped. Lists, ``literals`` and roles are left as they are.

_BULLET = re.compile(r"^(\s*)([*\-•+]|\d+[.)]|\(\d+\)|[a-z][.)])\s+")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _text_column(line: str) -> int:
    """Where a line's text starts: after the bullet of a list item."""
    m = _BULLET.match(line)
    return m.end() if m else _indent(line)


def _escape_bars(line: str) -> str:
    """``|`` → ``\\|`` outside ``literal`` spans (a bar is a modulus here, not a substitution)."""
    parts = re.split(r"(``.+?``)", line)
    return "".join(p if p.startswith("``") else p.replace("|", r"\|") for p in parts)


def _open_literal(out: list[str]) -> None:
    """End the paragraph before an indented block with ``::`` (rendered as ':' or nothing)."""
    for i in range(len(out) - 1, -1, -1):
        if out[i].strip():
            line = out[i].rstrip()
            if not line.endswith("::"):
                out[i] = line + (":" if line.endswith(":") else " ::")
            return
    out.append("::")  # the docstring starts with the block


def _well_formed_list(block: list[str]) -> bool:
    """Whether an indented block is a list: items, and continuation lines at their item's text."""
    column = None
    for line in block:
        if not line.strip():
            continue
        bullet = _BULLET.match(line)
        if bullet:
            column = bullet.end()
        elif column is None or _indent(line) != column:
            return False
    return True


def plain_text_docstring(lines: list[str]) -> list[str]:
    """The RST rendering of a plain-text docstring (see above); ``lines`` as autodoc gives them."""
    out: list[str] = []
    context = 0  # the text column of the paragraph or list item that indented lines belong to
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            out.append(line)
            i += 1
            continue
        if _indent(line) > context:
            j = i  # the block: every following line that is blank or indented past the context
            while j < n and (not lines[j].strip() or _indent(lines[j]) > context):
                j += 1
            while j > i and not lines[j - 1].strip():
                j -= 1  # trailing blank lines belong to what follows
            block = lines[i:j]
            if _BULLET.match(line) and _well_formed_list(block):
                if out and out[-1].strip():
                    out.append("")  # a list needs a blank line before it
                out.extend(_escape_bars(b) for b in block)
            else:  # a drawing, an equation, a table: verbatim
                _open_literal(out)
                out.append("")
                out.extend(block)
            out.append("")
            i = j
            continue
        context = _text_column(line)
        out.append(_escape_bars(line))
        i += 1
    return out


def _process_docstring(app, what, name, obj, options, lines):
    lines[:] = plain_text_docstring(lines)
    if what == "class" and dataclasses.is_dataclass(obj):
        lines.extend(_settings(obj))


def _settings(cls) -> list[str]:
    """A configuration section's fields with their defaults and help texts (``config.setting``):
    the same words ``photonzo train --help`` prints."""
    rows = [f for f in dataclasses.fields(cls) if "help" in f.metadata]
    if not rows:
        return []
    out = ["", "Settings (name, default: meaning):", ""]
    for f in rows:
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        cli = "" if f.metadata.get("cli", True) else " (not on the command line)"
        help_text = _escape_bars(f.metadata["help"].replace("*", r"\*"))
        out.append(f"* ``{f.name}`` = ``{default}``: {help_text}{cli}")
    return [*out, ""]


def _public_bases(app, name, obj, options, bases):
    """Show a class's documented bases: a private base (``_Stencil``) is replaced by its own."""
    i = 0
    while i < len(bases):
        base = bases[i]
        if getattr(base, "__name__", "").startswith("_") and isinstance(base, type):
            bases[i : i + 1] = [b for b in base.__bases__ if b is not object]
        else:
            i += 1


def setup(app):
    app.add_directive("curated-api", CuratedAPI)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("autodoc-process-bases", _public_bases)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
