"""Physics-informed networks trained on the simulated chip (sparse-grid Stein derivatives)."""
