"""photonzo: a photonic-chip simulator and back-propagation-free training stack.

The simulated chip (``photonzo.photonics``) is the only oracle the trainers may use: they
program phases and read detector outputs. See ``DESIGN.md`` in the shared folder for the
architecture.
"""

__version__ = "0.1.0"
