"""Datasets (IDX reader, checksums, offline data folders)."""

from .datasets import DATASETS, DataNotFoundError, Dataset, batches, fit_features, load_dataset, read_idx

__all__ = ["DATASETS", "DataNotFoundError", "Dataset", "batches", "fit_features", "load_dataset", "read_idx"]
