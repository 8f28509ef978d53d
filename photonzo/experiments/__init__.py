"""Experiments: runs from configurations, sweeps, results and plots — the layer above training and PINN.

Nothing in ``photonics``, ``training`` or ``pinn`` imports it."""
