"""Datasets: an IDX reader, checksummed look-up and download, and the offline defaults.

``load_dataset(name)`` for ``mnist``, ``fashion-mnist`` and ``digits`` returns train and test
arrays (images flattened to float32 in [0, 1], integer labels).

Where IDX files are looked for, in order:
  1. ``data_dir`` (the CLI's ``--data-dir``),
  2. ``$PHOTONZO_DATA``,
  3. the user cache dir (``$XDG_CACHE_HOME/photonzo`` or ``~/.cache/photonzo``),
  4. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``);
each as ``<dir>/<dataset>/<file>`` or ``<dir>/<file>``. Missing files are downloaded into the
cache dir from the standard mirrors when ``download`` is on and the machine is online.

Every file is verified: the SHA-256 of its decompressed payload (so a file re-gzipped by a
distribution, or stored uncompressed, still verifies) or, for a file whose payload hash is not
recorded, the MD5 of the canonical ``.gz``. A mismatch is an error, never a silent use.

Offline MNIST: the MNIST training images are not always at hand (this project's CI has only
the test set). Then ``mnist`` uses a fixed split of the 10,000 test images — 8,000 to train
and 2,000 held out, permutation seeded with 0 — and says so in ``Dataset.source`` and in a one-line
warning logged (``logging``, logger ``photonzo.data.datasets``) once per process. A download
gives up within seconds when the machine is offline (``DOWNLOAD_TIMEOUT``; the first mirror that
cannot be reached at all ends the attempt).

``digits`` is scikit-learn's bundled 8×8 handwritten digits (1,797 images, values 0..16): the
small default that always works offline; fixed split 1,437 train / 360 test (seed 0).

``mnist-8x8`` is ``mnist`` (the same files and split) with every image averaged down to 8×8 pixels
(area averaging over the 28×28 grid, torch's ``adaptive_avg_pool2d``): the input of MixedTrain's
on-chip training experiments (Gu et al., AAAI 2021), 64 features like ``digits``.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import logging
import math
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..choices import DATASETS
from ..io import cache_dir


@dataclass(frozen=True)
class IdxFile:
    name: str
    gz_md5: str  # MD5 of the canonical .gz as the mirrors serve it
    payload_sha256: str | None  # SHA-256 of the decompressed IDX bytes (None: not recorded)


IDX_FILES = {
    "mnist": {
        "train-images": IdxFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", None),
        "train-labels": IdxFile(
            "train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        "test-images": IdxFile(
            "t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        "test-labels": IdxFile(
            "t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    },
    "fashion-mnist": {
        "train-images": IdxFile(
            "train-images-idx3-ubyte.gz",
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        "train-labels": IdxFile(
            "train-labels-idx1-ubyte.gz",
            "25c81989df183df01b3e8a0aad5dffbe",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        "test-images": IdxFile(
            "t10k-images-idx3-ubyte.gz",
            "bef4ecab320f06d8554ea6380940ec79",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        "test-labels": IdxFile(
            "t10k-labels-idx1-ubyte.gz",
            "bb300cfdad3c16e7a12a480ee83cd310",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    },
}
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://yann.lecun.com/exdb/mnist/"],
    "fashion-mnist": ["https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
DOWNLOAD_TIMEOUT = 5.0  # seconds a mirror may take to connect, or to send the next block
SYSTEM_DIRS = {"fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")]}
MNIST_OFFLINE_SPLIT = (8000, 2000)
DIGITS_TEST = 360

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataNotFoundError(FileNotFoundError):
    """A dataset file is neither on disk nor downloadable; the message says where to put it."""


# ---- IDX ------------------------------------------------------------------------------------


def _payload(path: Path) -> bytes:
    """The file's bytes, decompressed if it is gzip; a damaged gzip stream (truncated, bit-flipped)
    is a ``ValueError`` that names the file, never a decompressor's own exception."""
    with open(path, "rb") as f:
        head = f.read(2)
    if head != b"\x1f\x8b":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(
            f"{path}: the gzip file is damaged ({type(e).__name__}: {e}); delete it and fetch it again"
        ) from None


def parse_idx(data: bytes, source: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes (the MNIST file format) into a numpy array."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{source} is not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    ndim = data[3]
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise ValueError(f"{source}: IDX header is truncated or has {ndim} dimensions")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    body = data[4 + 4 * ndim :]
    if len(body) != expected:
        raise ValueError(
            f"{source}: IDX header promises shape {shape} ({expected} bytes) but holds {len(body)} bytes"
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw."""
    path = Path(path)
    return parse_idx(_payload(path), str(path))


# ---- look-up, verification, download --------------------------------------------------------


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for ``name``'s files, in order (see the module docstring)."""
    roots = [Path(data_dir)] if data_dir else []
    if os.environ.get("PHOTONZO_DATA"):
        roots.append(Path(os.environ["PHOTONZO_DATA"]))
    roots.append(cache_dir())
    dirs = [d for root in roots for d in (root / name, root)]
    return dirs + SYSTEM_DIRS.get(name, [])


def verify(path: Path, spec: IdxFile) -> bytes:
    """Raise ``ValueError`` unless ``path`` holds the canonical content of ``spec``; returns the
    decompressed IDX bytes, so that loading does not read and decompress the file again."""
    payload = _payload(path)
    if spec.payload_sha256 is not None:
        digest = hashlib.sha256(payload).hexdigest()
        if digest != spec.payload_sha256:
            raise ValueError(
                f"{path}: checksum mismatch (payload sha256 {digest}, expected {spec.payload_sha256}); "
                "the file is corrupt or not the canonical one — delete it and fetch it again"
            )
        return payload
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    if digest != spec.gz_md5:
        raise ValueError(
            f"{path}: checksum mismatch (md5 {digest}, expected {spec.gz_md5} of the canonical "
            f"{spec.name}); the file is corrupt or not the canonical one — delete it and fetch it again"
        )
    return payload


def _candidates(spec: IdxFile, folder: Path) -> list[Path]:
    raw = spec.name[:-3] if spec.name.endswith(".gz") else spec.name
    return [folder / spec.name, folder / raw]


def _unreachable(error: Exception) -> bool:
    """Whether a download's failure says that no mirror can be reached (no DNS, connection refused,
    no route, connection timed out): then trying the other mirrors would only wait again."""
    reason = getattr(error, "reason", None) if isinstance(error, urllib.error.URLError) else None
    if isinstance(reason, (socket.gaierror, ConnectionRefusedError, TimeoutError)):
        return True
    return getattr(reason, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)


def _download(name: str, spec: IdxFile, timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """``spec`` from the first mirror that serves it, into the cache; a ``DataNotFoundError`` at once
    when the machine is offline (see ``_unreachable``), else after every mirror failed."""
    target = cache_dir() / name / spec.name
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in MIRRORS[name]:
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with (
                urllib.request.urlopen(mirror + spec.name, timeout=timeout) as response,
                os.fdopen(fd, "wb") as out,
            ):
                shutil.copyfileobj(response, out)
            if hashlib.md5(Path(tmp).read_bytes()).hexdigest() != spec.gz_md5:
                raise ValueError(f"download from {mirror} failed its md5 check")
            os.replace(tmp, target)
            return target
        except (urllib.error.URLError, OSError, ValueError) as e:
            errors.append(f"{mirror}: {e}")
            if _unreachable(e):
                errors.append("no network: the other mirrors were not tried")
                break
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise DataNotFoundError("; ".join(errors))


def find_file(name: str, part: str, data_dir=None, download: bool = True) -> Path:
    """Path of a verified file of dataset ``name`` (``part`` e.g. 'train-images'), downloading if needed."""
    return _locate(name, part, data_dir, download)[0]


def read_part(name: str, part: str, data_dir=None, download: bool = True) -> np.ndarray:
    """The verified array of one file of dataset ``name`` (read and decompressed once)."""
    path, payload = _locate(name, part, data_dir, download)
    return parse_idx(payload, str(path))


def _locate(name: str, part: str, data_dir, download: bool) -> tuple[Path, bytes]:
    """A verified file and its decompressed payload."""
    spec = IDX_FILES[name][part]
    for folder in search_dirs(name, data_dir):
        for path in _candidates(spec, folder):
            if path.is_file():
                return path, verify(path, spec)
    where = ", ".join(dict.fromkeys(str(d) for d in search_dirs(name, data_dir)))  # once each, in order
    reason = "downloading is off"
    if download:
        try:
            path = _download(name, spec)
            return path, verify(path, spec)
        except DataNotFoundError as e:
            reason = f"the download failed ({e})"
    raise DataNotFoundError(  # one line: what the CLI prints
        f"{name}: {spec.name} was not found and {reason}. Put the file (gzip or raw IDX) in one of "
        f"{where} (e.g. pass --data-dir DIR or set PHOTONZO_DATA=DIR with DIR/{name}/{spec.name}); "
        f"canonical md5 of the .gz: {spec.gz_md5}"
    )


# ---- datasets -------------------------------------------------------------------------------

log = logging.getLogger(__name__)
_noticed: set[str] = set()


def _notice(message: str) -> None:
    """A warning for the user, once per process (a sweep loads its data once per cell): a logged
    line, which Python prints as that one line on stderr when the program configures no logging."""
    if message not in _noticed:
        _noticed.add(message)
        log.warning(message)


@dataclass
class Dataset:
    """Train and test splits: images flattened to float32 in [0, 1], labels int64."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where the split came from, recorded in every result
    n_classes: int = 10

    @property
    def n_features(self) -> int:
        """Features per input: 64 for the 8×8 digits, 784 for the 28×28 images (pixel values in [0, 1])."""
        return self.x_train.shape[1]


def _images(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def _split(n: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[n_test:], order[:n_test]


# a dataset made from another by averaging its images down: name → (source dataset, side in pixels)
DOWNSAMPLED = {"mnist-8x8": ("mnist", 8)}


def downsample(images: np.ndarray, side: int) -> np.ndarray:
    """Square images ``[N, H·H]`` (float, flattened) averaged down to ``[N, side·side]`` by area (each
    output pixel the mean of the input pixels it covers; torch's ``adaptive_avg_pool2d``)."""
    import torch

    n, pixels = images.shape
    height = math.isqrt(pixels)
    if height * height != pixels or not 1 <= side <= height:
        raise ValueError(f"cannot average {pixels}-pixel images down to {side}×{side}")
    grid = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).view(n, 1, height, height)
    return torch.nn.functional.adaptive_avg_pool2d(grid, side).reshape(n, side * side).numpy()


def load_dataset(name: str, data_dir=None, download: bool = True) -> Dataset:
    """Load ``mnist``, ``fashion-mnist``, ``digits`` or ``mnist-8x8`` (see the module docstring)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; accepted datasets are {', '.join(DATASETS)}")
    if name in DOWNSAMPLED:
        base, side = DOWNSAMPLED[name]
        data = load_dataset(base, data_dir, download)
        return Dataset(
            name,
            downsample(data.x_train, side),
            data.y_train,
            downsample(data.x_test, side),
            data.y_test,
            source=f"{data.source}, averaged down to {side}×{side}",
        )
    if name == "digits":
        from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

        digits = load_digits()
        x, y = digits.data.astype(np.float32) / 16.0, digits.target.astype(np.int64)
        train, test = _split(len(x), DIGITS_TEST, seed=0)
        return Dataset(
            name, x[train], y[train], x[test], y[test], source="sklearn digits, fixed split 1437/360 (seed 0)"
        )

    def get(part):
        return read_part(name, part, data_dir, download)

    x_test, y_test = _images(get("test-images")), get("test-labels").astype(np.int64)
    try:
        x_train, y_train = _images(get("train-images")), get("train-labels").astype(np.int64)
        source = f"{name} official split 60000/10000"
    except DataNotFoundError:
        if name != "mnist":
            raise
        n_train, n_test = MNIST_OFFLINE_SPLIT
        train, test = _split(len(x_test), n_test, seed=0)
        x_train, y_train, x_test, y_test = x_test[train], y_test[train], x_test[test], y_test[test]
        source = f"mnist test set split {n_train}/{n_test} (seed 0): training images unavailable offline"
        why = "could not be downloaded" if download else "downloading is off"
        _notice(
            f"photonzo: the MNIST training images were not found and {why}; training on a split of the "
            f"test set instead ({n_train:,} train / {n_test:,} held out, seed 0). For the official split "
            f"put {IDX_FILES['mnist']['train-images'].name} in --data-dir or $PHOTONZO_DATA."
        )
    return Dataset(name, x_train, y_train, x_test, y_test, source=source)


def fit_features(x: np.ndarray, in_features: int) -> np.ndarray:
    """Flatten and zero-pad samples to a model's input size (never truncate)."""
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    if x.shape[1] > in_features:
        raise ValueError(
            f"samples have {x.shape[1]} features but the model takes {in_features}; choose a model "
            "whose input is at least that large"
        )
    return np.pad(x, ((0, 0), (0, in_features - x.shape[1])))


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One shuffled epoch of ``(x, y)`` minibatches (the last one may be smaller)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]
