"""Mutual information per layer: the information plane, I(X;T) against I(T;Y).

The textbook passage argues that information is lost layer by layer. For a hidden layer's output
``T`` these estimates say how much it still holds about the input ``X`` and about the label ``Y``.
All values are in **bits** (log base 2).

Two estimators (:data:`ESTIMATORS`):

``"binning"`` (Shwartz-Ziv and Tishby 2017)
    Each unit's output is cut into ``n_bins`` equal bins over the activation's range (its bounds for
    sigmoid/tanh, else the observed min and max of the layer); ``T`` becomes the discrete tuple of
    bins of a sample. The map ``X -> T`` is deterministic and the samples are distinct, so
    ``I(X;T) = H(T)`` and ``I(T;Y) = H(T) - H(T|Y) = H(T) + H(Y) - H(T, Y)``, each a plug-in
    entropy of counts. Hence ``0 <= I(T;Y) <= I(X;T) <= log2(n_samples)`` and ``I(T;Y) <= H(Y)``.
    The plug-in estimate of a mutual information is biased upwards, by about
    ``(K_T - 1)(K_Y - 1) / (2 n ln 2)`` bits for ``K_T`` occupied bins and ``K_Y`` classes
    (Miller 1955; Paninski 2003), so a ``T`` independent of ``Y`` reads slightly above 0.
    In a wide layer almost every sample gets its own tuple of bins, and both estimates sit at
    their maxima ``log2(n)`` and ``H(Y)`` whatever the training does. The paper's layers had 12 to
    2 units; for wide layers use the KDE estimator with a noise comparable to the spread of the
    outputs. Measured on 1000 digits, 64-100x5-10 sigmoid net with normal(0, 1) weights: binning
    reads 9.97 bits (= log2 1000) in every layer with 30, 5 or 3 bins (9.7-9.97 with 2), while KDE
    with ``noise_variance=1`` reads I(X;T) = 6.1, 4.7, 3.2, 3.1, 2.1 bits in layers 1 to 5.
``"kde"`` (Kolchinsky and Tracey 2017; Saxe et al. 2018)
    ``T`` is taken as the layer's output plus Gaussian noise of variance ``noise_variance``;
    the entropy of the resulting mixture of ``n`` Gaussians has the pairwise-distance upper bound
    ``H(T) <= d/2 (1 + log 2 pi s2) - 1/n sum_i log 1/n sum_j exp(-||h_i - h_j||^2 / (2 s2))``.
    With ``H(T|X) = d/2 (1 + log 2 pi s2)`` (the noise), ``I(X;T)`` is the second term, at most
    ``log2(n)``; ``I(T;Y)`` subtracts the same bound computed within each class, weighted by the
    class frequency, as Saxe et al. do. Costs ``O(n^2 d)`` time and ``n^2`` floats of memory, so use
    a subset of a few thousand samples.

References
----------
Shwartz-Ziv, R., Tishby, N. (2017). Opening the black box of deep neural networks via information.
arXiv:1703.00810.
Kolchinsky, A., Tracey, B. D. (2017). Estimating mixture entropy with pairwise distances. Entropy.
Saxe, A. M. et al. (2018). On the information bottleneck theory of deep learning. ICLR.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import logsumexp

from ..checks import check_positive_int
from ..errors import ConfigError, DataError, unknown_name
from ..net.backend import to_numpy
from ..net.network import Network
from ..net.validation import check_matrix, to_network

if TYPE_CHECKING:
    from ..backpropagation.training import EpochInfo

LN2 = math.log(2.0)
KDE_MAX_SAMPLES = 16384
"""Largest sample the KDE estimator accepts: its distance matrix then takes 2 GiB (float64)."""


# ------------------------------------------------------------------------------------------------
# discrete entropies


def entropy_bits(ids: np.ndarray) -> float:
    """Plug-in entropy ``-sum p log2 p`` of the discrete values in ``ids``.

    Parameters
    ----------
    ids : ndarray of shape (n_samples,)
        Non-negative integer labels (e.g. from :func:`row_ids`).
    """
    counts = np.bincount(ids)
    p = counts[counts > 0] / ids.shape[0]
    h = float(-np.sum(p * np.log2(p)))
    return h if h > 0 else 0.0  # one value: 0, not -0.0


def row_ids(B: np.ndarray) -> np.ndarray:
    """Label each distinct row of ``B`` with an integer ``0 .. n_distinct - 1``.

    Parameters
    ----------
    B : ndarray of shape (n_samples, n_columns)
        Integer codes (bins).

    Returns
    -------
    ndarray of shape (n_samples,), int64
    """
    B = np.ascontiguousarray(B)
    if B.ndim == 1:
        B = B[:, None]
    # One opaque byte string per row: np.unique then sorts n keys instead of n x d numbers.
    keys = B.view(np.dtype((np.void, B.dtype.itemsize * B.shape[1]))).ravel()
    return np.unique(keys, return_inverse=True)[1].reshape(-1).astype(np.int64)


def discretize(
    T: np.ndarray, n_bins: int = 30, value_range: tuple[float, float] | None = None
) -> np.ndarray:
    """Equal-width bins of every entry of ``T``.

    Parameters
    ----------
    T : ndarray of shape (n_samples, n_units)
    n_bins : int
    value_range : (low, high), optional
        Range cut into ``n_bins`` bins; default the min and max of ``T``. Values outside fall in
        the first or last bin.

    Returns
    -------
    ndarray of shape (n_samples, n_units) of bin indices ``0 .. n_bins - 1`` (the smallest
    integer dtype that holds them)
    """
    n_bins = check_positive_int(n_bins, "n_bins")
    T = np.asarray(T, dtype=np.float64)
    lo, hi = (float(T.min()), float(T.max())) if value_range is None else map(float, value_range)
    if not hi > lo:  # a constant layer: everything in one bin
        return np.zeros(T.shape, dtype=np.uint8)
    codes = np.floor((T - lo) * (n_bins / (hi - lo)))
    dtype = np.uint8 if n_bins <= 256 else np.uint16 if n_bins <= 65536 else np.int64
    return np.clip(codes, 0, n_bins - 1).astype(dtype)


def label_ids(y: Any) -> np.ndarray:
    """Class labels ``0 .. K - 1`` from labels of shape (n,), one-hot rows, or a 0/1 column.

    Returns
    -------
    ndarray of shape (n_samples,), int64
    """
    y = to_numpy(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = np.argmax(y, axis=1)
    elif y.ndim == 2:
        y = (y[:, 0] > 0.5) if y.dtype.kind == "f" else y[:, 0]
    elif y.ndim != 1:
        raise DataError(f"y must be labels (n,), one-hot rows (n, k) or a column (n, 1); got {y.shape}")
    return np.unique(y, return_inverse=True)[1].reshape(-1).astype(np.int64)


# ------------------------------------------------------------------------------------------------
# the two estimators: T (n, d) and labels (n,) -> (I(X;T), I(T;Y)) in bits


def binning_information(
    T: Any, y: Any, n_bins: int = 30, value_range: tuple[float, float] | None = None
) -> tuple[float, float]:
    """``(I(X;T), I(T;Y))`` in bits by binning (Shwartz-Ziv and Tishby 2017).

    Parameters
    ----------
    T : array of shape (n_samples, n_units)
        A layer's outputs for distinct inputs ``X``.
    y : array of shape (n_samples,) or (n_samples, n_classes)
        Labels or one-hot rows.
    n_bins : int
    value_range : (low, high), optional
        See :func:`discretize`.
    """
    T, labels = _check_pair(T, y)
    t = row_ids(discretize(T, n_bins, value_range))
    h_t = entropy_bits(t)
    joint = t * (int(labels.max()) + 1) + labels
    return h_t, max(h_t + entropy_bits(labels) - entropy_bits(joint), 0.0)


def _mixture_information_nats(sq_dists: np.ndarray, noise_variance: float) -> np.ndarray:
    """``-log (1/n sum_j exp(-||h_i - h_j||^2 / 2 s2))`` per sample i, shape (n,)."""
    n = sq_dists.shape[0]
    return -(logsumexp(-sq_dists / (2.0 * noise_variance), axis=1) - math.log(n))


def kde_information(T: Any, y: Any, noise_variance: float = 1e-3) -> tuple[float, float]:
    """``(I(X;T), I(T;Y))`` in bits by the pairwise-distance (KDE) upper bound.

    Kolchinsky and Tracey 2017, as used by Saxe et al. 2018 with ``noise_variance = 1e-3``.

    Parameters
    ----------
    T : array of shape (n_samples, n_units)
    y : array of shape (n_samples,) or (n_samples, n_classes)
    noise_variance : float
        Variance of the Gaussian noise added to each unit.
    """
    if not noise_variance > 0:
        raise ConfigError(f"noise_variance must be > 0, got {noise_variance!r}")
    T, labels = _check_pair(T, y)
    if T.shape[0] > KDE_MAX_SAMPLES:
        raise DataError(
            f"the KDE estimator holds an n x n distance matrix; {T.shape[0]} samples would need "
            f"{T.shape[0] ** 2 * 8 / 2**30:.1f} GiB. Give it a subset of at most {KDE_MAX_SAMPLES}."
        )
    sq = np.einsum("ij,ij->i", T, T)
    # ||h_i - h_j||^2 through one matrix product; rounding can make it slightly negative.
    sq_dists = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (T @ T.T), 0.0)
    h_t = float(np.mean(_mixture_information_nats(sq_dists, noise_variance)))
    h_t_given_y = 0.0
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        within = _mixture_information_nats(sq_dists[np.ix_(idx, idx)], noise_variance)
        h_t_given_y += idx.size / labels.size * float(np.mean(within))
    return h_t / LN2, max(h_t - h_t_given_y, 0.0) / LN2


def _check_pair(T: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    T = np.asarray(to_numpy(check_matrix(T, "T")), dtype=np.float64)
    labels = label_ids(y)
    if labels.shape[0] != T.shape[0]:
        raise DataError(f"T and y have different numbers of samples: {T.shape[0]} and {labels.shape[0]}")
    return T, labels


Estimator = Callable[..., tuple[float, float]]
ESTIMATORS: dict[str, Estimator] = {"binning": binning_information, "kde": kde_information}


def get_estimator(name: str) -> Estimator:
    """An estimator by name; the error lists the valid ones."""
    if name not in ESTIMATORS:
        raise unknown_name("estimator", name, ESTIMATORS)
    return ESTIMATORS[name]


# ------------------------------------------------------------------------------------------------
# per layer of a network


def information_per_layer(
    net: Network,
    X: Any,
    y: Any,
    estimator: str = "binning",
    layers: Sequence[int] | None = None,
    n_bins: int = 30,
    noise_variance: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray]:
    """``I(X;T)`` and ``I(T;Y)`` in bits for the outputs ``T`` of the chosen layers.

    Parameters
    ----------
    net : Network
    X : array of shape (n_samples, n_in)
        Distinct inputs (a fixed subset of the training data).
    y : array of shape (n_samples,) or (n_samples, n_classes)
    estimator : {"binning", "kde"}
    layers : sequence of int, optional
        1-based layer numbers; default every hidden layer (all but the output layer).
    n_bins : int
        Binning: bins per unit; the range is the activation's bounds when it has them (so
        epochs are comparable), else the layer's observed range.
    noise_variance : float
        KDE: variance of the added Gaussian noise.

    Returns
    -------
    I_XT, I_TY : ndarrays of shape (n_layers_chosen,)
    """
    est = get_estimator(estimator)
    chosen = _check_layers(net, layers)
    X = to_network(check_matrix(X, "X"), net.xp, net.dtype, net.device)
    outputs = net.forward(X).activations
    i_xt, i_ty = [], []
    for l in chosen:
        T = to_numpy(outputs[l])
        if estimator == "binning":
            pair = est(T, y, n_bins=n_bins, value_range=net.layers[l - 1].activation.bounds)
        else:
            pair = est(T, y, noise_variance=noise_variance)
        i_xt.append(pair[0])
        i_ty.append(pair[1])
    return np.array(i_xt), np.array(i_ty)


def _check_layers(net: Network, layers: Sequence[int] | None) -> list[int]:
    n = len(net.layers)
    if layers is None:
        return list(range(1, n)) if n > 1 else [1]
    chosen = [int(l) for l in layers]
    bad = [l for l in chosen if not 1 <= l <= n]
    if bad:
        raise ConfigError(f"layers {bad} out of range; this network has layers 1..{n}")
    return chosen


class InformationPlane:
    """Collects ``(I(X;T), I(T;Y))`` per layer every ``every`` epochs during :func:`weightwise.fit`.

    Pass it as a callback: ``fit(net, X, Y, callbacks=[plane])``. It runs one forward pass on its
    fixed subset ``(X, y)`` at epoch 1 and every ``every``-th epoch.

    Parameters
    ----------
    X : array of shape (n_samples, n_in)
        A fixed subset of distinct training inputs (a few thousand at most for ``"kde"``).
    y : array of shape (n_samples,) or (n_samples, n_classes)
    every : int
    estimator : {"binning", "kde"}
    layers : sequence of int, optional
        1-based layers; default the hidden layers.
    n_bins, noise_variance
        See :func:`information_per_layer`.

    Attributes
    ----------
    epochs : list of int
    I_XT, I_TY : list of list of float
        ``I_XT[r][i]`` for the ``r``-th recorded epoch and the ``i``-th chosen layer, in bits.
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        every: int = 1,
        estimator: str = "binning",
        layers: Sequence[int] | None = None,
        n_bins: int = 30,
        noise_variance: float = 1e-3,
    ) -> None:
        every = check_positive_int(every, "every")
        get_estimator(estimator)
        self.X = check_matrix(X, "X")
        self.labels = label_ids(y)
        if self.labels.shape[0] != self.X.shape[0]:
            n_x, n_y = self.X.shape[0], self.labels.shape[0]
            raise DataError(f"X and y have different numbers of samples: {n_x} and {n_y}")
        self.every = every
        self.estimator = estimator
        self.layers = None if layers is None else [int(l) for l in layers]
        self.n_bins = n_bins
        self.noise_variance = noise_variance
        self.epochs: list[int] = []
        self.I_XT: list[list[float]] = []
        self.I_TY: list[list[float]] = []
        self.layer_numbers: list[int] = []

    def __call__(self, info: EpochInfo) -> None:
        if info.epoch == 1 or info.epoch % self.every == 0:
            self.record(info.network, info.epoch)

    def record(self, net: Network, epoch: int) -> None:
        """Estimate and store the information of ``net``'s layers (epoch 0: before training)."""
        self.layer_numbers = _check_layers(net, self.layers)
        i_xt, i_ty = information_per_layer(
            net,
            self.X,
            self.labels,
            self.estimator,
            self.layer_numbers,
            self.n_bins,
            self.noise_variance,
        )
        self.epochs.append(int(epoch))
        self.I_XT.append([float(v) for v in i_xt])
        self.I_TY.append([float(v) for v in i_ty])

    @property
    def limits(self) -> dict[str, float]:
        """Upper limits of the plane: ``I(X;T) <= log2(n)`` and ``I(T;Y) <= H(Y)``, in bits."""
        return {"H_X": math.log2(self.labels.shape[0]), "H_Y": entropy_bits(self.labels)}

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``epochs`` (n_records,), ``I_XT`` and ``I_TY`` (n_records, n_layers)."""
        return np.array(self.epochs), np.array(self.I_XT), np.array(self.I_TY)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (bits) with the estimator's settings and the plane's limits."""
        return {
            "units": "bits",
            "estimator": self.estimator,
            "n_bins": self.n_bins,
            "noise_variance": self.noise_variance,
            "n_samples": int(self.labels.shape[0]),
            "layers": list(self.layer_numbers),
            "epochs": list(self.epochs),
            "I_XT": [list(r) for r in self.I_XT],
            "I_TY": [list(r) for r in self.I_TY],
            **self.limits,
        }
