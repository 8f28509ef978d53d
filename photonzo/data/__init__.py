"""Datasets (IDX reader, checksums, offline data folders)."""

from .datasets import DATASETS, Dataset, DataNotFoundError, batches, fit_features, load_dataset, read_idx

__all__ = ["DATASETS", "Dataset", "DataNotFoundError", "batches", "fit_features", "load_dataset", "read_idx"]
