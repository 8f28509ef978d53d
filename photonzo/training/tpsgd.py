"""Target projection: layer-local, back-propagation-free training (tpSGD and DRTP).

Target Projection SGD (Lomnitz et al., "Learning with Local Gradients at the Edge", 2022)
generalises Direct Random Target Projection (Frenkel et al., 2021). Each hidden layer i has a
fixed random projection P_i [width_i × classes]; its local target is t_i = P_i y* (y* the
one-hot label). Layer i is trained on a local loss ℓ(h_i, t_i) of its own output h_i = σ(z_i)
with its input detached, so no gradient crosses layers; the output layer trains on the task
loss (cross-entropy) on its detached input. Local losses (``LOCAL_LOSSES``):

  mse     ‖h − t‖² / width        tpSGD's ℓ2 loss (delta rule gated by σ')
  l1      ‖h − t‖₁ / width        tpSGD's sign variant (robust, low-precision friendly)
  ce      −Σ softmax(t) log softmax(h)   a cross-entropy-style loss with soft targets
  linear  −⟨h, t⟩ / width         DRTP: its update (t ⊙ σ'(z)) hᵀ is this loss's gradient
  cosine  1 − cos(h, t)           scale-free: a passive optical layer cannot amplify, so on a
                                  chip only the direction of its output is fully in reach

So DRTP is tpSGD with the ``linear`` local loss (``METHODS``). Three trainers:

* ``train_tpsgd``: digital, in the weight domain of an ``OpticalNetwork`` (dense or TT
  layers, exactly the architecture the BP baseline trains), with torch autograd inside each
  layer only.
* ``train_tpsgd_rnn``: digital, a small recurrent layer (tanh) read out by a linear layer;
  the recurrent layer is trained at every time step towards the projected target with the
  previous state detached (no back-propagation through layers or through time).
* ``LayerLocalRGE``: on the chip — an estimator for the ``ZOTrainer`` that estimates each
  layer's phase gradient by RGE on that layer's own local loss, read through the Oracle's
  per-layer detector taps (``LayerTapOracle``, a stated hardware assumption). Each estimate
  has one layer's phase count as its dimension.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from ..photonics.layers import LayerWeights
from ..progress import progress_bar
from ..validation import check_choice, check_positive, is_int
from .estimators import (
    DISTRIBUTIONS,
    RGE,
    SCHEMES,
    DirectionProbe,
    Estimate,
    Estimator,
    evaluate,
)
from .selection import keep_best

# ---- local losses: h [..., B, W], t [B, W] → [...] --------------------------------------------


def _mse(h, t):
    return (h - t).pow(2).mean((-2, -1))


def _l1(h, t):
    return (h - t).abs().mean((-2, -1))


def _soft_ce(h, t):
    return -(torch.softmax(t, -1) * torch.log_softmax(h, -1)).sum(-1).mean(-1)


def _linear(h, t):
    return -(h * t).mean((-2, -1))


def _cosine(h, t):
    return (1 - F.cosine_similarity(h, t.expand_as(h), dim=-1, eps=1e-12)).mean(-1)


LOCAL_LOSSES = {"mse": _mse, "l1": _l1, "ce": _soft_ce, "linear": _linear, "cosine": _cosine}
METHODS = {"tpsgd": "mse", "drtp": "linear"}  # method → its default local loss
PROJECTIONS = ("gaussian", "uniform")


def local_loss_fn(name: str):
    """The local loss ``name`` of ``LOCAL_LOSSES``: ``h[..., B, W]``, ``t[B, W]`` → a loss per leading
    index."""
    return LOCAL_LOSSES[check_choice("local loss", name, tuple(LOCAL_LOSSES))]


class TargetProjection:
    """Fixed random projections P_i [width_i, classes], one per hidden layer, from ``seed``.

    ``gaussian``: entries N(0, 1); ``uniform``: U(−1, 1) (reachable by tanh units). The
    matrices never change: they are no parameters, and the same seed gives the same targets.
    """

    def __init__(
        self,
        widths: list[int],
        classes: int,
        seed: int = 0,
        distribution: str = "gaussian",
        scale: float = 1.0,
    ):
        check_choice("projection distribution", distribution, PROJECTIONS)
        if not is_int(classes) or classes < 2:
            raise ValueError(f"target projection needs at least 2 classes, got {classes!r}")
        for w in widths:
            check_positive("a hidden layer width", w, integer=True)
        check_positive("the projection scale", scale)
        g = torch.Generator().manual_seed(seed)
        draw = (
            (lambda s: torch.randn(s, generator=g, dtype=torch.float64))
            if distribution == "gaussian"
            else (lambda s: 2 * torch.rand(s, generator=g, dtype=torch.float64) - 1)
        )
        self.matrices = [scale * draw((w, classes)) for w in widths]
        self.widths, self.classes, self.seed, self.distribution, self.scale = (
            list(widths),
            classes,
            seed,
            distribution,
            scale,
        )

    def targets(self, labels) -> list[torch.Tensor]:
        """Local targets t_i = P_i y* for integer ``labels [B]``: one ``[B, width_i]`` per hidden layer."""
        labels = torch.as_tensor(labels).long()
        if labels.ndim != 1 or (len(labels) and (labels.min() < 0 or labels.max() >= self.classes)):
            raise ValueError(f"labels must be a vector of integers in 0..{self.classes - 1}")
        return [P.T[labels] for P in self.matrices]  # P y* for one-hot y* is column y of P

    def describe(self) -> dict:
        """The projection's seed, distribution, scale and hidden widths, for a run's records."""
        return {
            "seed": self.seed,
            "distribution": self.distribution,
            "scale": self.scale,
            "widths": self.widths,
        }


# ---- digital tpSGD on an OpticalNetwork's weights ---------------------------------------------


def layer_losses(
    network,
    weights: list[LayerWeights],
    x: torch.Tensor,
    y: torch.Tensor,
    projection: TargetProjection,
    local_loss: str = "mse",
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Every layer's loss on its own detached input: hidden layers' local losses, then the task
    loss of the output layer. Returns (losses, logits)."""
    loss = local_loss_fn(local_loss)
    targets = projection.targets(y)
    losses, h = [], x
    for i, w in enumerate(weights):
        z = network.digital_layer(i, w, h.detach())  # detached: nothing flows back into layer i − 1
        if i < len(weights) - 1:
            h = network.activation(i)(z)
            losses.append(loss(h, targets[i].to(h.dtype)))
        else:
            losses.append(F.cross_entropy(z, y))
            h = z
    return losses, h


def _check_training(epochs, batch_size, lr):
    if (
        isinstance(epochs, bool)
        or not isinstance(epochs, int)
        or epochs < 1
        or isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        raise ValueError(
            f"epochs and batch_size must be positive integers, got {epochs!r} and {batch_size!r}"
        )
    check_positive("the learning rate", lr)


def _validation_accuracy(network, weights, valid) -> float:
    """Digital accuracy on ``valid``; a diverged (non-finite) network scores 0."""
    with torch.no_grad():
        out = network.digital_forward(weights, valid[0])
    return float((out.argmax(-1) == valid[1]).double().mean()) if torch.isfinite(out).all() else 0.0


def _epoch(network, weights, opt, data, projection, local_loss, generator, batch_size):
    """One epoch of layer-local steps; returns (the last batch's layer losses, steps)."""
    x, y = data
    steps = 0
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        losses, _ = layer_losses(network, weights, x[idx], y[idx], projection, local_loss)
        opt.zero_grad()
        sum(losses).backward()  # inputs are detached: each layer gets its own loss's gradient only
        opt.step()
        steps += 1
    return losses, steps


def train_tpsgd(
    network,
    x_train,
    y_train,
    *,
    method: str = "tpsgd",
    local_loss: str | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    projection_seed: int = 1,
    projection: str = "gaussian",
    valid: tuple | None = None,
    progress: bool = False,
) -> tuple[list[LayerWeights], dict]:
    """tpSGD (or DRTP) on the network's real weights with Adam; returns (weights, stats).

    With ``valid = (x, y)`` the weights of the epoch with the best validation accuracy are
    returned (early stopping by keep-best; DRTP's linear loss is unbounded below on ReLU layers
    and eventually diverges there, so this matters for it).
    """
    check_choice("target-projection method", method, tuple(METHODS))
    local_loss = local_loss or METHODS[method]
    local_loss_fn(local_loss)
    _check_training(epochs, batch_size, lr)
    x = torch.as_tensor(np.asarray(x_train), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(y_train)).long()
    widths = [layer.out_features for layer in network.layers[:-1]]
    proj = TargetProjection(widths, network.out_features, projection_seed, projection)
    weights = network.random_weights(seed, requires_grad=True)
    params = network.weight_tensors(weights)
    opt = torch.optim.Adam(params, lr=lr)
    g = torch.Generator().manual_seed(seed)
    if valid is not None:
        valid = (
            torch.as_tensor(np.asarray(valid[0]), dtype=torch.float64),
            torch.as_tensor(np.asarray(valid[1])).long(),
        )
    t0, steps, kept, curve = time.perf_counter(), 0, None, []
    for epoch in progress_bar(range(epochs), enabled=progress, desc=f"{method} ({local_loss})", unit="epoch"):
        losses, n = _epoch(network, weights, opt, (x, y), proj, local_loss, g, batch_size)
        steps += n
        if valid is not None:
            curve.append(_validation_accuracy(network, weights, valid))
            kept = keep_best(kept, curve[-1], {"epoch": epoch + 1}, [w.detached() for w in weights], "max")
    for t in params:
        t.requires_grad_(False)
    stats = {
        "steps": steps,
        "wall": time.perf_counter() - t0,
        "method": method,
        "local_loss": local_loss,
        "final_layer_losses": [float(v.detach()) for v in losses],
    }
    if kept is not None:
        weights = kept.params
        stats.update(valid_acc=kept.value, best_epoch=kept.record["epoch"], valid_curve=curve)
    return weights, stats


# ---- digital tpSGD for a recurrent layer --------------------------------------------------------


class ProjectedRNN:
    """h_t = tanh(W_x x_t + W_h h_{t−1} + b), logits = W_o h_T + b_o, for sequences [B, T, F]."""

    def __init__(self, features: int, hidden: int, classes: int, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        r = lambda *s, scale: scale * torch.randn(*s, generator=g, dtype=torch.float64)
        self.w_x = r(hidden, features, scale=features**-0.5)
        self.w_h = r(hidden, hidden, scale=0.5 * hidden**-0.5)
        self.b = torch.zeros(hidden, dtype=torch.float64)
        self.w_o = r(classes, hidden, scale=hidden**-0.5)
        self.b_o = torch.zeros(classes, dtype=torch.float64)

    @property
    def tensors(self) -> list[torch.Tensor]:
        """The trainable tensors: W_x, W_h, b, W_o, b_o."""
        return [self.w_x, self.w_h, self.b, self.w_o, self.b_o]

    def states(self, x: torch.Tensor, detach: bool = True) -> list[torch.Tensor]:
        """Hidden states h_1..h_T; with ``detach`` each step sees h_{t−1} as a constant."""
        h = torch.zeros(x.shape[0], self.w_h.shape[0], dtype=torch.float64)
        out = []
        for t in range(x.shape[1]):
            h = torch.tanh(x[:, t] @ self.w_x.T + (h.detach() if detach else h) @ self.w_h.T + self.b)
            out.append(h)
        return out

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, classes]`` of sequences ``x[B, T, F]`` (no gradient)."""
        with torch.no_grad():
            return self.states(x)[-1] @ self.w_o.T + self.b_o


def rnn_losses(
    model: ProjectedRNN,
    x: torch.Tensor,
    y: torch.Tensor,
    projection: TargetProjection,
    local_loss: str = "mse",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(recurrent layer's local loss summed over time steps, readout's task loss on the detached
    last state)."""
    loss = local_loss_fn(local_loss)
    target = projection.targets(y)[0]
    states = model.states(x, detach=True)
    local = sum(loss(h, target) for h in states)
    task = F.cross_entropy(states[-1].detach() @ model.w_o.T + model.b_o, y)
    return local, task


def train_tpsgd_rnn(
    x_train,
    y_train,
    *,
    hidden: int = 64,
    method: str = "tpsgd",
    local_loss: str | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    projection_seed: int = 1,
    progress: bool = False,
) -> tuple[ProjectedRNN, dict]:
    """tpSGD on sequences ``x_train [N, T, F]``: targets projected per time step (uniform P, so
    tanh states can reach them); returns (model, stats)."""
    check_choice("target-projection method", method, tuple(METHODS))
    local_loss = local_loss or METHODS[method]
    local_loss_fn(local_loss)
    _check_training(epochs, batch_size, lr)
    x = torch.as_tensor(np.asarray(x_train), dtype=torch.float64)
    if x.ndim != 3:
        raise ValueError(f"sequences must have shape [N, T, F], got {tuple(x.shape)}")
    y = torch.as_tensor(np.asarray(y_train)).long()
    classes = int(y.max()) + 1
    model = ProjectedRNN(x.shape[2], hidden, classes, seed)
    proj = TargetProjection([hidden], classes, projection_seed, "uniform")
    for t in model.tensors:
        t.requires_grad_(True)
    opt = torch.optim.Adam(model.tensors, lr=lr)
    g = torch.Generator().manual_seed(seed)
    t0, steps = time.perf_counter(), 0
    for _ in progress_bar(range(epochs), enabled=progress, desc=f"{method}-rnn ({local_loss})", unit="epoch"):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            local, task = rnn_losses(model, x[idx], y[idx], proj, local_loss)
            opt.zero_grad()
            (local + task).backward()
            opt.step()
            steps += 1
    for t in model.tensors:
        t.requires_grad_(False)
    return model, {
        "steps": steps,
        "wall": time.perf_counter() - t0,
        "local_loss": float(local.detach()),
        "task_loss": float(task.detach()),
    }


# ---- on the chip: layer-local zeroth-order estimation --------------------------------------------


class LayerLocalRGE(Estimator):
    """RGE of every layer's phases on that layer's own loss, read from the per-layer detector taps.

    Hidden layer i's phases follow the gradient of ℓ(h_i, P_i y*); the output layer's follow
    the task loss (cross-entropy). ``slices`` are the perturbed segments (layers, or TT cores /
    meshes inside them for a tensor-wise estimate), ``layer_of`` maps every parameter to its
    layer. ``joint=False`` perturbs one segment at a time with the others at the centre, so a
    layer's input is exactly its centre input (detached, as tpSGD asks): 2·q·segments + 1
    queries per step. ``joint=True`` perturbs all segments at once and reads every layer's loss
    from the same 2·q + 1 settings; the upstream perturbations then act on a layer as
    zero-mean input noise (unbiased, more variance, far fewer queries).
    """

    def __init__(
        self,
        projection: TargetProjection,
        layer_of: torch.Tensor,
        slices,
        *,
        local_loss: str = "mse",
        q: int = 10,
        distribution: str = "rademacher",
        scheme: str = "central",
        mu: float = 0.025,
        joint: bool = False,
    ):
        self.projection, self.local_loss, self.joint = projection, local_loss, bool(joint)
        self.loss_fn = local_loss_fn(local_loss)
        self.layer_of = torch.as_tensor(layer_of).long()
        self.rge = RGE(q, distribution, scheme, mu, slices=slices, tensorwise=True)
        self.name = f"layer-local-{local_loss}" + ("-joint" if joint else "")

    def probes(self, n_params, step, generator, dtype):
        probe = self.rge.probes(n_params, step, generator, dtype)[0]
        on = probe.segment >= 0
        columns = torch.zeros(probe.n_segments, dtype=torch.long, device=probe.segment.device)
        columns[probe.segment[on]] = self.layer_of.to(columns.device)[on]  # a segment lies inside one layer
        return [
            DirectionProbe(
                probe.R,
                probe.segment,
                probe.n_segments,
                probe.scheme,
                probe.mu,
                probe.sign,
                joint=self.joint,
                columns=columns,
            )
        ]

    def estimate(self, oracle, params, batch, step, generator, max_settings=256, loss_fn=None):
        if loss_fn is not None:
            raise ValueError("layer-local training defines its own per-layer losses; it takes no loss_fn")
        if not hasattr(oracle, "layer_outputs"):
            raise TypeError(
                "layer-local training reads every layer's detectors: the Oracle must provide "
                "layer_outputs (a LayerTapOracle, e.g. Chip.oracle())"
            )
        x, y = batch
        y = torch.as_tensor(y).long()
        targets = self.projection.targets(y)

        def losses(settings):
            outs = oracle.layer_outputs(settings, x)
            cols = [self.loss_fn(h.to(torch.float64), t) for h, t in zip(outs[:-1], targets)]
            logits = outs[-1].to(torch.float64)
            cols.append(
                F.cross_entropy(logits.transpose(1, 2), y.expand(logits.shape[0], -1), reduction="none").mean(
                    1
                )
            )
            return torch.stack(cols, 1)

        probes = self.probes(params.shape[0], step, generator, params.dtype)
        grad, centre, queries = evaluate(oracle, params, batch, probes, max_settings, loss_fn=losses)
        return Estimate(
            grad,
            float(centre[-1]),
            queries,
            self.name,
            {"local_losses": [round(float(v), 6) for v in centre[:-1]]},
        )

    def describe(self):
        return {
            "name": self.name,
            "local_loss": self.local_loss,
            "joint": self.joint,
            "projection": self.projection.describe(),
            "rge": self.rge.describe(),
        }


def build_layer_local(
    oracle,
    *,
    q: int = 10,
    mu: float = 0.025,
    distribution: str = "rademacher",
    scheme: str = "central",
    level: str = "layer",
    local_loss: str = "mse",
    joint: bool = False,
    projection_seed: int = 1,
    projection: str = "gaussian",
    target_scale: float = 1.0,
) -> LayerLocalRGE:
    """``LayerLocalRGE`` for ``oracle``'s layout: segments at ``level`` (``layer`` or finer)."""
    check_choice("direction distribution", distribution, DISTRIBUTIONS)
    check_choice("difference scheme", scheme, SCHEMES)
    if not hasattr(oracle, "layer_features"):
        raise TypeError(
            "layer-local training needs an Oracle with per-layer detector taps (layer_features, "
            "layer_outputs)"
        )
    widths = list(oracle.layer_features)
    if len(widths) < 2:
        raise ValueError("layer-local training needs at least one hidden layer")
    layers = oracle.param_slices("layer")
    layer_of = torch.full((oracle.n_params,), -1, dtype=torch.long)
    for i, s in enumerate(layers):
        layer_of[s.slice] = i
    proj = TargetProjection(widths[:-1], widths[-1], projection_seed, projection, target_scale)
    return LayerLocalRGE(
        proj,
        layer_of,
        oracle.param_slices(level),
        local_loss=local_loss,
        q=q,
        distribution=distribution,
        scheme=scheme,
        mu=mu,
        joint=joint,
    )
