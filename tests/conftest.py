"""Shared fixtures and test fakes: chip-free Oracles that a trainer cannot tell from a chip."""

import numpy as np
import pytest
import torch

from photonzo.photonics.layers import ParamSlice


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def haar_unitary(n: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-random unitary (QR of a complex Ginibre matrix with the phase fix of Mezzadri 2007)."""
    z = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diag(r)
    return q * (d / np.abs(d))


def random_phases(n_phases: int, rng: np.random.Generator, q: int | None = None) -> torch.Tensor:
    shape = (n_phases,) if q is None else (q, n_phases)
    return torch.as_tensor(rng.uniform(0, 2 * np.pi, shape), dtype=torch.float64)


# ---- test fakes: Oracles without a chip ---------------------------------------------------------


class FunctionOracle:
    """A test Oracle around a plain function f(θ[Q, P]) → [Q]; counts queries and calls."""

    def __init__(self, f, n_params, slices=None):
        self.f, self.n_params, self._slices = f, n_params, slices or [ParamSlice("all", 0, n_params, "mesh")]
        self.queries, self.calls = 0, 0

    def param_slices(self, level="layer"):
        return self._slices

    def initial_params(self, seed=0):
        return torch.zeros(self.n_params, dtype=torch.float64)

    def loss(self, phases, batch):
        self.queries += phases.shape[0]
        self.calls += 1
        return self.f(phases)


class TwoLayerTaps:
    """A chip-free LayerTapOracle: h = θ[:2] ⊙ x (hidden, 2 wide), logits = (Σh) θ[2:5] (3 classes)."""

    layer_features = [2, 3]
    n_params = 5
    queries = 0

    def param_slices(self, level="layer"):
        return [ParamSlice("layer0", 0, 2, "layer"), ParamSlice("layer1", 2, 5, "layer")]

    def initial_params(self, seed=0):
        return torch.tensor([0.5, -0.3, 0.2, -0.1, 0.4], dtype=torch.float64)

    def layer_outputs(self, phases, x):
        self.queries += phases.shape[0]
        h = phases[:, None, :2] * x[None]
        return [h, h.sum(-1, keepdim=True) * phases[:, None, 2:5]]

    def outputs(self, phases, x):
        return self.layer_outputs(phases, x)[-1]

    def loss(self, phases, batch):
        raise AssertionError("layer-local training must not use the whole-network loss")


class Interrupt(Exception):
    pass


class InterruptingOracle:
    """Passes through to an Oracle, then fails (like a killed process) after ``calls`` loss calls."""

    def __init__(self, oracle, calls):
        self.inner, self.left = oracle, calls
        self.n_params = oracle.n_params

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def loss(self, phases, batch):
        self.left -= 1
        if self.left < 0:
            raise Interrupt
        return self.inner.loss(phases, batch)


class SoftmaxRegressionOracle:
    """A chip-free Oracle: logits = W x with W the parameter vector — the trainer needs nothing more."""

    def __init__(self, n_in, n_out):
        self.n_in, self.n_out, self.n_params, self.queries = n_in, n_out, n_in * n_out, 0

    def param_slices(self, level="layer"):
        return [ParamSlice("weights", 0, self.n_params, "bias")]  # electronic: never wrapped

    def initial_params(self, seed=0):
        return torch.zeros(self.n_params, dtype=torch.float64)

    def outputs(self, phases, x):
        self.queries += phases.shape[0]
        return torch.as_tensor(x, dtype=torch.float64) @ phases.reshape(-1, self.n_out, self.n_in).transpose(
            1, 2
        )

    def loss(self, phases, batch):
        x, y = batch
        out = self.outputs(phases, x)
        return torch.nn.functional.cross_entropy(
            out.transpose(1, 2), y.long().expand(out.shape[0], -1), reduction="none"
        ).mean(1)
