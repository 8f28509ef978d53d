import gzip
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest

from photonzo.data import DataNotFoundError, batches, datasets, fit_features, load_dataset, read_idx
from photonzo.data.datasets import IDX_FILES, downsample, find_file

SHARED = Path(os.environ.get("PHOTONZO_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_shared = pytest.mark.skipif(
    not (SHARED / "mnist").is_dir(), reason="shared data folder (PHOTONZO_DATA) not present"
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No PHOTONZO_DATA, an empty cache dir: only what a test puts in place is found."""
    monkeypatch.delenv("PHOTONZO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def idx_bytes(array: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 0x08, array.ndim])
        + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        + array.tobytes()
    )


def test_idx_reader_handles_gzip_and_raw_and_rejects_garbage(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(idx_bytes(images))
    with gzip.open(tmp_path / "a.idx.gz", "wb") as f:
        f.write(idx_bytes(images))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), images)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x07\x01junk")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(idx_bytes(images)[:-5])
    with pytest.raises(ValueError, match=r"promises shape \(2, 3, 4\) \(24 bytes\) but holds 19"):
        read_idx(tmp_path / "short")


@pytest.fixture
def offline(monkeypatch):
    """No network: every download fails at once, as a DNS failure; returns the attempts' timeouts."""
    attempts = []

    def urlopen(url, timeout=None):
        attempts.append(timeout)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(datasets, "_noticed", set())  # each test sees the once-per-process notice
    return attempts


def notices(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "photonzo.data.datasets"]


@needs_shared
def test_offline_mnist_is_the_documented_split_of_the_test_set(isolated, monkeypatch, offline, caplog):
    monkeypatch.setenv("PHOTONZO_DATA", str(SHARED))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a notice, not a UserWarning with its source line
        data = load_dataset("mnist", download=False)
    (notice,) = notices(caplog)
    assert "training images were not found and downloading is off" in notice and "\n" not in notice
    assert not offline  # download=False: no attempt
    assert data.x_train.shape == (8000, 784) and data.x_test.shape == (2000, 784)
    assert "split 8000/2000 (seed 0)" in data.source
    assert data.x_train.dtype == np.float32 and data.x_train.min() >= 0 and data.x_train.max() == 1.0
    full = read_idx(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz").reshape(10000, -1) / 255.0
    rows = {r.tobytes() for r in np.concatenate([data.x_train, data.x_test]).astype(np.float32)}
    assert rows == {r.tobytes() for r in full.astype(np.float32)}  # a partition of the 10k test images
    assert set(np.unique(data.y_test)) == set(range(10))


def test_downsampling_averages_areas():
    """A constant image stays constant; a 28×28 image of four constant quadrants keeps each quadrant's
    value on its 4×4 quarter of the 8×8 grid (28/8 = 3.5: the windows meet at the middle exactly);
    the side of the image itself changes nothing; a non-square image is refused."""
    rng = np.random.default_rng(0)
    assert np.allclose(downsample(np.full((2, 784), 0.3), 8), 0.3)
    quadrants = np.zeros((28, 28))
    quadrants[:14, 14:], quadrants[14:, :14], quadrants[14:, 14:] = 0.25, 0.5, 1.0
    small = downsample(quadrants.reshape(1, -1), 8).reshape(8, 8)
    expected = np.block([[np.zeros((4, 4)), np.full((4, 4), 0.25)], [np.full((4, 4), 0.5), np.ones((4, 4))]])
    np.testing.assert_allclose(small, expected, atol=1e-7)
    images = rng.random((3, 784)).astype(np.float32)
    np.testing.assert_array_equal(downsample(images, 28), images)
    with pytest.raises(ValueError, match="cannot average 783-pixel images down to 8×8"):
        downsample(np.zeros((1, 783)), 8)


@needs_shared
def test_mnist_8x8_is_mnist_averaged_down():
    """MixedTrain's input: the same split and labels as ``mnist``, each image averaged to 8×8."""
    full = load_dataset("mnist", data_dir=SHARED, download=False)
    small = load_dataset("mnist-8x8", data_dir=SHARED, download=False)
    assert small.n_features == 64 and len(small.x_train) == len(full.x_train)
    np.testing.assert_array_equal(small.y_train, full.y_train)
    np.testing.assert_allclose(small.x_test, downsample(full.x_test, 8))
    assert small.x_train.min() >= 0.0 and small.x_train.max() <= 1.0
    assert small.source.startswith(full.source) and "8×8" in small.source


@needs_shared
def test_fashion_mnist_full_and_checksums_catch_corruption(isolated):
    data = load_dataset("fashion-mnist", data_dir=SHARED, download=False)
    assert (data.x_train.shape, data.x_test.shape) == ((60000, 784), (10000, 784))
    assert np.bincount(data.y_train).tolist() == [6000] * 10
    bad = isolated / "bad" / "fashion-mnist"
    bad.mkdir(parents=True)
    for part in ("test-images", "test-labels"):
        shutil.copy(SHARED / "fashion-mnist" / IDX_FILES["fashion-mnist"][part].name, bad)
    labels = bad / "t10k-labels-idx1-ubyte.gz"
    payload = gzip.decompress(labels.read_bytes())
    labels.write_bytes(gzip.compress(payload[:-1] + bytes([(payload[-1] + 1) % 10])))  # one label changed
    with pytest.raises(ValueError, match="checksum mismatch"):
        find_file("fashion-mnist", "test-labels", data_dir=isolated / "bad", download=False)
    raw = bad / "t10k-images-idx3-ubyte"  # an uncompressed copy verifies by its payload
    raw.write_bytes(gzip.decompress((bad / "t10k-images-idx3-ubyte.gz").read_bytes()))
    (bad / "t10k-images-idx3-ubyte.gz").unlink()
    assert find_file("fashion-mnist", "test-images", data_dir=isolated / "bad", download=False) == raw


@needs_shared
def test_lookup_order_data_dir_then_env(isolated, monkeypatch):
    first, second = isolated / "first" / "mnist", isolated / "second" / "mnist"
    for folder in (first, second):
        folder.mkdir(parents=True)
        (folder / "t10k-labels-idx1-ubyte.gz").symlink_to(SHARED / "mnist" / "t10k-labels-idx1-ubyte.gz")
    monkeypatch.setenv("PHOTONZO_DATA", str(isolated / "second"))
    assert find_file("mnist", "test-labels", data_dir=isolated / "first", download=False).parent == first
    assert find_file("mnist", "test-labels", download=False).parent == second


def test_missing_files_offline_say_where_to_put_them(isolated):
    with pytest.raises(
        DataNotFoundError,
        match=r"(?s)t10k-images-idx3-ubyte.gz was not found and downloading is off.*"
        r"--data-dir DIR or set PHOTONZO_DATA",
    ):
        load_dataset("fashion-mnist", data_dir=isolated / "nowhere", download=False)
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_digits_work_offline_with_a_fixed_split(isolated):
    a, b = load_dataset("digits"), load_dataset("digits")
    assert (a.x_train.shape, a.x_test.shape) == ((1437, 64), (360, 64))
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.x_train.max() == 1.0 and a.x_train.min() == 0.0


def test_fitting_features_and_batching(rng):
    x = np.ones((5, 2, 3))
    padded = fit_features(x, 8)
    assert padded.shape == (5, 8) and padded[:, 6:].sum() == 0 and padded[:, :6].sum() == 30
    with pytest.raises(ValueError, match="6 features but the model takes 4"):
        fit_features(x, 4)
    y = np.arange(5)
    seen = [yb for _, yb in batches(padded, y, 2, rng)]
    assert [len(b) for b in seen] == [2, 2, 1] and sorted(np.concatenate(seen)) == list(range(5))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        next(batches(padded, y, 0, rng))


def test_a_damaged_gzip_file_is_an_error_that_names_it(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    good = gzip.compress(idx_bytes(images))
    cases = {"truncated": good[: len(good) // 2], "flipped": good[:12] + bytes([good[12] ^ 0x40]) + good[13:]}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(
            ValueError, match=rf"{name}: the gzip file is damaged|{name}.*not an IDX|{name}: IDX"
        ):
            read_idx(tmp_path / name)


def test_a_download_gives_up_at_once_when_the_machine_is_offline(isolated, offline):
    with pytest.raises(DataNotFoundError, match="the download failed.*no network: the other mirrors"):
        find_file("mnist", "train-images")
    assert offline == [datasets.DOWNLOAD_TIMEOUT] and datasets.DOWNLOAD_TIMEOUT <= 5  # one mirror, briefly


def test_a_mirror_that_answers_with_an_error_is_not_the_end(isolated, monkeypatch):
    tried = []

    def urlopen(url, timeout=None):
        tried.append(url)
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(DataNotFoundError, match="HTTP Error 404"):
        find_file("mnist", "train-images")
    assert tried == [m + "train-images-idx3-ubyte.gz" for m in datasets.MIRRORS["mnist"]]


@needs_shared
def test_offline_mnist_says_so_once_in_one_line(isolated, monkeypatch, offline, caplog):
    monkeypatch.setenv("PHOTONZO_DATA", str(SHARED))
    for _ in range(2):  # a sweep loads its data once per cell
        assert load_dataset("mnist").x_train.shape == (8000, 784)
    (notice,) = notices(caplog)
    assert notice.startswith("photonzo: the MNIST training images were not found and could not be downloaded")
    assert offline == [datasets.DOWNLOAD_TIMEOUT] * 2  # one quick attempt per load


@needs_shared
def test_offline_mnist_prints_one_line_on_stderr(isolated):
    """What a user of ``photonzo train mnist`` sees on stderr without a network: that one line."""
    code = (
        "import socket, urllib.error, urllib.request\n"
        "def urlopen(url, timeout=None):\n"
        "    raise urllib.error.URLError(socket.gaierror(-2, 'Name or service not known'))\n"
        "urllib.request.urlopen = urlopen\n"
        "from photonzo.data import load_dataset\n"
        "load_dataset('mnist'); load_dataset('mnist')\n"
    )
    env = {**os.environ, "PHOTONZO_DATA": str(SHARED), "XDG_CACHE_HOME": str(isolated / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("photonzo: the MNIST training images were not found") and "--data-dir" in line
