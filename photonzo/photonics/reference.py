"""Cross-check against the photontorch circuit simulator (optional extra ``reference``).

photontorch (AGPL-3.0) is imported only inside these functions, for tests and benchmarks;
the runtime package never imports it. Install it with ``pip install photonzo[reference]``.

``circuit_matrix`` builds a mesh at the level of photontorch's own primitives — directional
couplers and phase-shifting waveguides wired like our layout, each MZI as in ``mzi.py``:
a φ shifter on the upper input arm, a coupler, arms at θ and π − θ, a coupler, π on the lower
output arm — and reads the transfer matrix off photontorch's frequency-domain solver. Our
closed-form mesh must agree with it; beam-splitter errors become coupler ratios and insertion
loss becomes waveguide loss, so those physics are checked too.

photontorch 0.4.1 fails on current torch in two places, shimmed here and only while one of
these functions runs:
  1. ``Network.initialize`` calls ``torch.solve``, removed from torch (since 1.9 deprecated):
     the network module gets a proxy of ``torch`` whose ``solve(B, A)`` is
     ``(torch.linalg.solve(A, B), None)``.
  2. ``Network._handle_source`` relies on named tensors (``.names``, ``.rename``,
     ``.align_to``), which current torch no longer has: it is replaced by an equivalent that
     takes the full ``(2, t, w, s, b)`` source tensor.
"""

from __future__ import annotations

import contextlib
import math
import types

import numpy as np
import torch

from .mesh import MeshLayout


def _require_photontorch():
    try:
        import photontorch
        import photontorch.networks.network as ptnet
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the photontorch reference needs the optional extra: pip install 'photonzo[reference]'"
        ) from e
    return photontorch, ptnet


class _TorchWithSolve(types.ModuleType):
    """``torch`` as photontorch expects it: everything of torch, plus the removed ``solve``."""

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def solve(b, a):
        return torch.linalg.solve(a, b), None


def _handle_source(self, source: torch.Tensor) -> torch.Tensor:
    """Named-tensor-free ``Network._handle_source`` for a full ``(2, t, w, s, b)`` source."""
    if source.ndim != 5 or source.shape[0] != 2:
        raise ValueError("the shimmed photontorch network takes sources of shape (2, t, w, s, b)")
    t, w = self.env.num_t, self.env.num_wl
    source = source.to(torch.get_default_dtype()).expand(2, t, w, self.num_sources, source.shape[-1])
    pad = torch.zeros(
        2, t, w, self.num_mc - self.num_sources, source.shape[-1], dtype=source.dtype, device=source.device
    )
    return torch.cat([source, pad], 3)


@contextlib.contextmanager
def photontorch_shims():
    """Patch photontorch 0.4.1 for current torch for the duration of the block (float64)."""
    pt, ptnet = _require_photontorch()
    saved = ptnet.torch, ptnet.Network._handle_source, torch.get_default_dtype()
    ptnet.torch = _TorchWithSolve("torch")
    ptnet.Network._handle_source = _handle_source
    torch.set_default_dtype(torch.float64)
    try:
        yield pt
    finally:
        ptnet.torch, ptnet.Network._handle_source = saved[0], saved[1]
        torch.set_default_dtype(saved[2])


def _waveguide(pt, phase: float = 0.0, loss_db: float = 0.0):
    # neff = ng = 0: no propagation phase or delay; a 1 m guide with `loss_db` dB/m carries the loss.
    return pt.Waveguide(length=1.0, loss=loss_db, neff=0.0, ng=0.0, phase=float(phase), trainable=False)


def build_circuit(layout: MeshLayout, phases, bs_error=None, loss_db: float = 0.0):
    """A photontorch network of couplers and waveguides realising one mesh (inside ``photontorch_shims``)."""
    pt, _ = _require_photontorch()
    phases = np.asarray(phases, dtype=np.float64)
    theta, phi, screen = phases[layout.theta_slice], phases[layout.phi_slice], phases[layout.screen_slice]
    eps = np.zeros((layout.n_mzis, 2)) if bs_error is None else np.asarray(bs_error, dtype=np.float64)
    comps, conns = {}, []
    open_port = {}  # mode → "component:port" the light leaves from
    for i in range(layout.n):  # photontorch numbers sources in order of first connection
        comps[f"src{i}"], comps[f"input{i}"] = pt.Source(), _waveguide(pt)
        conns.append(f"src{i}:0:input{i}:0")
        open_port[i] = f"input{i}:1"
    for k, m in enumerate(layout.mzi_top_modes):
        m = int(m)
        couplers = [math.sin(math.pi / 4 + e) ** 2 for e in eps[k]]
        parts = {
            "phi": _waveguide(pt, phi[k]),
            "dc1": pt.DirectionalCoupler(couplers[0], trainable=False),
            "armt": _waveguide(pt, theta[k]),
            "armb": _waveguide(pt, math.pi - theta[k]),
            "dc2": pt.DirectionalCoupler(couplers[1], trainable=False),
            "outt": _waveguide(pt, 0.0, loss_db),
            "outb": _waveguide(pt, math.pi, loss_db),
        }
        comps.update({f"m{k}{name}": c for name, c in parts.items()})
        # coupler ports: 3 upper-left, 0 lower-left (inputs); 2 upper-right, 1 lower-right (outputs)
        conns += [
            f"{open_port[m]}:m{k}phi:0",
            f"m{k}phi:1:m{k}dc1:3",
            f"{open_port[m + 1]}:m{k}dc1:0",
            f"m{k}dc1:2:m{k}armt:0",
            f"m{k}dc1:1:m{k}armb:0",
            f"m{k}armt:1:m{k}dc2:3",
            f"m{k}armb:1:m{k}dc2:0",
            f"m{k}dc2:2:m{k}outt:0",
            f"m{k}dc2:1:m{k}outb:0",
        ]
        open_port[m], open_port[m + 1] = f"m{k}outt:1", f"m{k}outb:1"
    for i in range(layout.n):
        comps[f"screen{i}"] = _waveguide(pt, screen[i])
        comps[f"det{i}"] = pt.Detector()
        conns += [f"{open_port[i]}:screen{i}:0", f"screen{i}:1:det{i}:0"]
    return pt.Network(comps, conns)


def transfer_matrix(network, n: int) -> np.ndarray:
    """The n×n complex transfer matrix of a terminated photontorch network, frequency domain."""
    pt, _ = _require_photontorch()
    with pt.Environment(wl=1.55e-6, freqdomain=True, grad=False):
        network.initialize()
        source = torch.zeros(2, 1, 1, n, n)
        source[0, 0, 0] = torch.eye(n)  # batch b drives source b
        out = network(source, power=False)  # (2, t, w, detector, batch)
    return (out[0, 0, 0] + 1j * out[1, 0, 0]).numpy()


def circuit_matrix(layout: MeshLayout, phases, bs_error=None, loss_db: float = 0.0) -> np.ndarray:
    """Transfer matrix of one mesh computed by photontorch's circuit solver."""
    with photontorch_shims():
        return transfer_matrix(build_circuit(layout, phases, bs_error, loss_db), layout.n)


def photontorch_clements(n: int):
    """photontorch's own ClementsNxN (compact MZI model), terminated with sources and detectors."""
    pt, _ = _require_photontorch()
    terms = [pt.Source(name=f"src{i}") for i in range(n)] + [pt.Detector(name=f"det{i}") for i in range(n)]
    return pt.ClementsNxN(N=n).terminate(terms)


def set_and_run(network, phases: np.ndarray, n: int) -> np.ndarray:
    """One phase update the photontorch way: write every phase parameter, re-initialise, run."""
    params = list(network.parameters())
    with torch.no_grad():
        offset = 0
        for p in params:
            p.copy_(torch.as_tensor(phases[offset : offset + p.numel()]).reshape(p.shape))
            offset += p.numel()
    return transfer_matrix(network, n)
