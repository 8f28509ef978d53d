"""Helpers the docs' notebooks use to build tables from the library itself at build time.

``field_comments(cls)``: the comments written beside a dataclass's fields in its source (a trailing
``# ...`` on the field's line, else the block of ``#`` lines just above it, which the following
fields without a comment of their own share). They are where the hardware and energy models state
each value's meaning, unit and source, so the tables of the docs quote the code, not a copy of it.

``markdown_table(rows, head)``: a Markdown table that myst-nb renders from a cell's output.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import re
import textwrap
import tokenize


def field_comments(cls) -> dict[str, str]:
    """Field name → the comment that documents it in ``cls``'s source (see the module docstring)."""
    source = textwrap.dedent(inspect.getsource(cls))
    names = {f.name for f in dataclasses.fields(cls)}
    lines = source.splitlines()
    comments: dict[int, str] = {}  # line number (1-based) → comment text
    code_lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            code_lines.add(tok.start[0])
    out, block = {}, ""
    for number, line in enumerate(lines, 1):
        match = re.match(r"\s+(\w+)\s*:", line)
        if number in comments and number not in code_lines:  # a comment line: (part of) a block
            previous = number - 1
            starts = previous not in comments or previous in code_lines
            block = comments[number] if starts else f"{block} {comments[number]}"
            continue
        if match and match.group(1) in names:
            name = match.group(1)
            trailing = comments.get(number) if number in code_lines else None
            out[name] = trailing or block
        elif line.strip() and not line.strip().startswith(("#", '"""')):
            block = ""  # code that is no field ends the shared block
    return out


def markdown_table(rows, head):
    """A Markdown table of ``rows`` (sequences of cells) under ``head``, as IPython Markdown."""
    from IPython.display import Markdown

    clean = lambda cell: str(cell).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return Markdown("\n".join(lines))
