"""Pseudo-labels (Lee 2013): fine-tuning with few labels and many unlabelled rows.

Lee, D.-H. (2013). Pseudo-Label: the simple and efficient semi-supervised learning method for
deep neural networks. ICML 2013 Workshop on Challenges in Representation Learning.

Each mini-batch of labelled rows is joined by ``batch_size`` unlabelled rows drawn at random
(with replacement, from the run's own generator, so a seeded run is reproducible and a resumed
one draws what the uninterrupted one drew). Their targets are the classes the network predicts
for them just before the update (the arg-max of a softmax output, one-hot; each unit of a
sigmoid output rounded at 0.5), so the targets move with the network. One update descends

    L = L(labelled batch) + alpha(t) * L(unlabelled batch, pseudo-labels),

with ``alpha(t) = 0`` for epochs ``t < start``, rising linearly to ``weight`` at ``t = full``
(1-based epochs), then ``weight`` (Lee's alpha_f = 3, T1 = 100, T2 = 600 epochs). The
pseudo-label term is a form of entropy minimisation: it pushes the decision boundary away from
dense regions of the unlabelled data. It starts at zero because the targets of an untrained
network are guesses that the term would only confirm; from a pre-trained stack (Lee's best
results used denoising auto-encoder pre-training) a short start is enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..checks import check_positive_int, is_number
from ..errors import ConfigError
from ..net.backend import Array, Random, is_numpy
from ..net.losses import Loss
from ..net.network import Network
from ..net.validation import check_matrix, check_shapes, to_network
from .gradients import Gradients, backprop

__all__ = ["PseudoLabels", "pseudo_label_targets"]


@dataclass(frozen=True, eq=False, repr=False)
class PseudoLabels:
    """The unlabelled rows and the schedule of their weight, for :func:`~.training.fit`.

    Parameters
    ----------
    X : array of shape (n_unlabelled, n_in)
        Rows without labels (on any backend; moved to the network's).
    weight : float
        ``alpha_f >= 0``, the weight of the pseudo-label loss once fully on.
    start : int
        ``T1 >= 1``: the pseudo-label term is off in epochs before ``start`` (1-based).
    full : int
        ``T2 >= start``: the weight reaches ``weight`` at this epoch.
    batch_size : int
        Unlabelled rows drawn per labelled mini-batch.
    """

    X: Any
    weight: float = 3.0
    start: int = 10
    full: int = 60
    batch_size: int = 100

    def __post_init__(self) -> None:
        if not (is_number(self.weight) and math.isfinite(self.weight) and self.weight >= 0):
            raise ConfigError(f"pseudo-label weight must be a finite number >= 0, got {self.weight!r}")
        check_positive_int(self.start, "pseudo-label start")
        check_positive_int(self.full, "pseudo-label full")
        check_positive_int(self.batch_size, "pseudo-label batch_size")
        if self.full < self.start:
            raise ConfigError(
                f"pseudo-label full ({self.full}) must be >= start ({self.start}): the weight "
                "rises from 0 at epoch start to its full value at epoch full"
            )

    def __repr__(self) -> str:
        shape = "x".join(str(int(n)) for n in getattr(self.X, "shape", ()))
        return (
            f"PseudoLabels(X=<{shape} rows>, weight={self.weight!r}, start={self.start}, "
            f"full={self.full}, batch_size={self.batch_size})"
        )

    def alpha(self, epoch: int) -> float:
        """The weight of the pseudo-label loss in ``epoch`` (1-based)."""
        if epoch < self.start:
            return 0.0
        if epoch >= self.full:
            return float(self.weight)
        return float(self.weight) * (epoch - self.start) / (self.full - self.start)

    def settings(self) -> dict[str, Any]:
        """What a resumed run must share with its checkpoint (the rows are the caller's)."""
        return {
            "pseudo_labels": {
                "weight": float(self.weight),
                "start": self.start,
                "full": self.full,
                "batch_size": self.batch_size,
                "n_unlabelled": int(self.X.shape[0]),
            }
        }


def pseudo_label_targets(output: Array, out_name: str) -> Array:
    """The targets of unlabelled rows: one-hot arg-max of a softmax output, or each sigmoid unit
    rounded at 0.5 (shape of ``output``, its dtype)."""
    from ..net.backend import namespace

    xp = namespace(output)
    if out_name == "softmax":
        classes = xp.argmax(output, axis=1)
        n_out = output.shape[1]
        return xp.astype(classes[:, None] == xp.arange(n_out)[None, :], output.dtype)
    return xp.astype(output >= 0.5, output.dtype)


def check_pseudo_labels(pseudo: Any, net: Network) -> PseudoLabels | None:
    """``pseudo`` checked against the network (a classifier output; rows as wide as its input),
    its rows moved to the network's array library, dtype and device."""
    if pseudo is None:
        return None
    if not isinstance(pseudo, PseudoLabels):
        raise ConfigError(f"pseudo_labels must be a PseudoLabels or None, got {type(pseudo).__name__}")
    out_name = net.layers[-1].activation.name
    if out_name not in ("softmax", "sigmoid"):
        raise ConfigError(
            f"pseudo-labels need a classifier's output (softmax or sigmoid), the network's is "
            f"{out_name}: a regression output has no class to take as a label"
        )
    X = check_matrix(pseudo.X, "unlabelled X")
    check_shapes(X, None, net.sizes[0], None, ("unlabelled X", "y"))
    X = to_network(X, net.xp, net.dtype, net.device)
    return PseudoLabels(X, pseudo.weight, pseudo.start, pseudo.full, pseudo.batch_size)


def pseudo_label_grads(
    net: Network,
    pseudo: PseudoLabels,
    g: Gradients,
    alpha: float,
    loss: Loss,
    reduction: str,
    rng: Random,
) -> list[Array]:
    """The gradient of ``L(labelled) + alpha * L(unlabelled, pseudo-labels)``: ``g`` (the
    labelled batch's, with its ``dW`` formed) plus ``alpha`` times that of ``batch_size``
    unlabelled rows drawn from ``rng``, labelled by the network as it is now."""
    xp = net.xp
    idx = rng.numpy.integers(0, pseudo.X.shape[0], pseudo.batch_size)
    if not is_numpy(xp):
        idx = to_network(idx, xp, None, net.device)
    xu = xp.take(pseudo.X, idx, axis=0)
    yu = pseudo_label_targets(net.predict(xu), net.layers[-1].activation.name)
    gu = backprop(net, xu, yu, loss, reduction)
    return [a + alpha * b for a, b in zip(g.as_list(), gu.as_list(), strict=True)]
