"""Sphinx configuration of the photonzo documentation.

Build (warnings are errors, so a broken reference, an undocumented public name or a tutorial
that raises fails the build)::

    python -m sphinx -W --keep-going -j auto -b html docs docs/_build/html

The physics guide and the tutorials are MyST Markdown notebooks executed during the build
(myst-nb): every figure in them is drawn by photonzo's own code, at build time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a fresh clone builds without installing photonzo first
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
# the notebooks' kernels import photonzo from the checkout too
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
# One torch thread per notebook kernel: the examples are small (a second thread only pays fork/joins,
# photonzo/photonics/threads.py), `-j auto` runs as many notebooks at once as there are cores, and
# on a busy machine spinning threads would slow every kernel several-fold.
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PHOTONZO_THREADS"):
    os.environ.setdefault(_variable, "1")

import photonzo  # noqa: E402

project = "photonzo"
author = "the photonzo developers"
copyright = "the photonzo developers, MIT licence"
release = version = photonzo.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "myst_nb",
    "photonzo_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", ".jupyter_cache", "README.proposed.md"]
root_doc = "index"
smartquotes = False  # option names (--steps) and quotes stay as written
highlight_language = "none"  # docstrings' indented blocks are drawings and equations, not code

# ---- warnings as errors: what counts --------------------------------------------------------
nitpicky = True  # every cross-reference must resolve
# No intersphinx (the docs build offline): references into other packages cannot resolve, so
# only they are exempt; every reference into photonzo must hit a documented object.
_EXTERNAL = [
    "torch", "np", "numpy", "scipy", "matplotlib", "pathlib", "os", "io", "argparse", "collections",
    "typing", "types", "concurrent", "dataclasses", "fractions", "multiprocessing", "contextlib",
    "tomllib", "distributed", "dask", "Tasmanian", "tqdm",
]  # fmt: skip
_TYPING = ["Path", "Callable", "Iterable", "Iterator", "Mapping", "Sequence", "Any", "NamedTuple",
           "Protocol", "Generator", "PathLike", "Literal"]  # fmt: skip
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(_EXTERNAL)})(\..*)?"),
    (r"py:.*", rf"({'|'.join(_TYPING)})(\[.*\])?"),
    (r"py:.*", r'"?Literal\[.*'),  # a Literal of a config field, split by autodoc's signature parser
]

# ---- autodoc ---------------------------------------------------------------------------------
autodoc_default_options = {
    "members": True,
    "undoc-members": True,  # an undocumented public name shows (tests/test_docs.py fails on it)
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
# The docstrings are plain text (read with help() too), not Google or NumPy style: no napoleon.
# docs/_ext/photonzo_docs.py renders their indented drawings and equations verbatim.

# ---- MyST and notebook execution ---------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # every build runs every notebook: a broken tutorial fails the build
nb_execution_raise_on_error = True
nb_execution_timeout = 300  # seconds per cell
nb_execution_show_tb = True
nb_merge_streams = True
nb_render_markdown_format = "myst"  # the tables the notebooks generate (and their roles)
nb_output_stderr = "warn"  # a warning printed by a tutorial (a deprecation, say) fails the build too

# ---- HTML --------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"photonzo {release}"
html_static_path: list[str] = []
