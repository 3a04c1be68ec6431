"""A stack of pre-trained learners, bottom first: data up through it, back down, and samples.

Nothing here is new maths. The learners (RBMs, auto-encoders) already know how to map data up
(``transform``: the mean hidden activations) and down (an RBM's ``propdown``, an auto-encoder's
``decode``) and how to Gibbs-sample (``sample``); these functions chain them through a stack:
learner ``k`` shares layer ``k`` of the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from ..net.backend import Array
from ..net.validation import check_matrix

# How a model file records a pre-trained stack (written by ``weightwise pretrain``, read by its
# ``info``/``predict`` and by :mod:`weightwise.interop`): one definition, on the floor both stand on.
PRETRAINED = "pretrained"
"""Metadata key of a model file holding a pre-trained stack: its learners and how to rebuild them."""

INPUT_OFFSET, INPUT_SCALE = "input.offset", "input.scale"
"""Extra arrays of ``pretrain --scale``: the stack was trained on ``(X - offset) / scale``."""


def is_rbm(learner: Any) -> bool:
    """True for an RBM learner (it can be Gibbs-sampled), False for an auto-encoder."""
    return callable(getattr(learner, "propdown", None)) and callable(getattr(learner, "sample", None))


def down(learner: Any, H: Array) -> Array:
    """Map hidden values of one learner back to its visible space.

    An RBM's mean visible values given ``H`` (``propdown``); an auto-encoder's decoder output.

    Parameters
    ----------
    learner : RBM or AutoEncoder
    H : array of shape (n_samples, learner.n_hidden)

    Returns
    -------
    array of shape (n_samples, learner.n_visible)
    """
    if callable(getattr(learner, "propdown", None)):
        return learner.propdown(H)
    return learner.decode(H)


def up(learner: Any, V: Array) -> Array:
    """The hidden means of one learner given its visible values (``transform``).

    Parameters
    ----------
    learner : RBM or AutoEncoder
    V : array of shape (n_samples, learner.n_visible)

    Returns
    -------
    array of shape (n_samples, learner.n_hidden)
    """
    return learner.transform(check_matrix(V, "X"))


def reconstruct(learners: Sequence[Any], V: Array) -> Array:
    """Up through every learner of a stack (hidden means), then back down to the data.

    Parameters
    ----------
    learners : sequence
        One learner per pre-trained layer, bottom first (learner ``k`` shares layer ``k``).
    V : array of shape (n_samples, learners[0].n_visible)

    Returns
    -------
    array of shape (n_samples, learners[0].n_visible)
    """
    H = check_matrix(V, "X")
    for learner in learners:
        H = up(learner, H)
    for learner in reversed(learners):
        H = down(learner, H)
    return H


def can_sample(learners: Sequence[Any]) -> bool:
    """True when the top learner is an RBM, so the stack has a generative top to sample from."""
    return bool(learners) and is_rbm(learners[-1])


def sample_stack(learners: Sequence[Any], n: int, gibbs_steps: int = 500) -> Array:
    """Samples of an RBM or a DBN in the data space.

    ``n`` independent Gibbs chains run ``gibbs_steps`` steps in the top RBM; its visible states
    then go down through the learners below, each giving its mean visible values.

    Parameters
    ----------
    learners : sequence
        Bottom first; the last must be an RBM.
    n : int
        Number of samples.
    gibbs_steps : int
        Steps of each chain (the top RBM's ``sample``).

    Returns
    -------
    array of shape (n, learners[0].n_visible)

    Raises
    ------
    ConfigError
        When the top learner is not an RBM (an auto-encoder stack has no model to sample).
    """
    if not can_sample(learners):
        raise ConfigError(
            "only a stack whose top learner is an RBM (an RBM or a DBN) can be sampled; this one "
            "ends in an auto-encoder"
        )
    V = learners[-1].sample(int(n), gibbs_steps=int(gibbs_steps))
    for learner in reversed(learners[:-1]):
        V = down(learner, V)
    return V
