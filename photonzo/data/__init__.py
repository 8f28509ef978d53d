"""Datasets (IDX reader, checksums, offline data folders)."""
