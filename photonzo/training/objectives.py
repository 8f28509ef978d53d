"""What a trainer trains: an objective samples batches, names the loss and evaluates parameters.

An objective has ``sample(generator, batch_size)``, ``loss_fn(oracle, batch)`` (a function of
parameter settings ``[Q, P] → [Q]``, or None for the Oracle's own loss), ``evaluate(oracle, params,
data)`` (a dict with at least ``val_loss``) and ``selection`` (which evaluation keeps the parameters,
``training/selection.py``). Classification lives here; the PINN's objective in ``pinn/objective.py``,
the calibration's in ``training/calibration.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .selection import Selection


class Classification:
    """Minibatches of (inputs, labels) and the Oracle's own loss; evaluation reads cross-entropy and
    accuracy from the chip's outputs."""

    selection = Selection("val_acc", "max")

    def __init__(self, train: tuple, valid: tuple, eval_batch: int = 1000):
        self.x_train, self.y_train = (torch.as_tensor(a) for a in train)
        self.x_valid, self.y_valid = (torch.as_tensor(a) for a in valid)
        if len(self.x_train) != len(self.y_train) or len(self.x_valid) != len(self.y_valid):
            raise ValueError("inputs and labels must have the same length")
        if len(self.x_train) < 1 or len(self.x_valid) < 1:
            raise ValueError("training and validation data must not be empty")
        self.eval_batch = eval_batch

    def sample(self, generator: torch.Generator, batch_size: int):
        """A minibatch (inputs ``[batch_size, in]``, labels ``[batch_size]``) drawn with replacement from the
        training split by ``generator``."""
        idx = torch.randint(0, len(self.x_train), (batch_size,), generator=generator)
        return self.x_train[idx], self.y_train[idx]

    def loss_fn(self, oracle, batch):
        """None: the Oracle's own loss (cross-entropy on the batch, in nats) is the training loss."""
        return None  # the Oracle's loss on the batch

    def evaluate(self, oracle, params: torch.Tensor, data: tuple | None = None) -> dict:
        """``val_loss`` (mean cross-entropy, nats) and ``val_acc`` (fraction correct) of ``params[P]`` on
        ``data`` (default: the validation split), read through the chip's outputs in batches of
        ``eval_batch``; one query per batch."""
        x, y = (self.x_valid, self.y_valid) if data is None else (torch.as_tensor(a) for a in data)
        step = self.eval_batch
        outs = [oracle.outputs(params[None], x[i : i + step])[0] for i in range(0, len(x), step)]
        out = torch.cat(outs).to(torch.float64)
        y = y.long()
        return {
            "val_loss": float(F.cross_entropy(out, y)),
            "val_acc": float((out.argmax(-1) == y).double().mean()),
        }
