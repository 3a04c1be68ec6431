"""Auto-encoder and denoising auto-encoder with tied weights, one layer of a network at a time.

For a layer with weights ``W`` of shape ``(n_visible, n_hidden)`` and hidden bias ``b`` (the *same*
arrays as the network's :class:`~weightwise.net.network.Dense` layer), the auto-encoder is

    x_tilde = corrupt(x)                       (the identity when ``corruption == 0``)
    h       = f(x_tilde @ W + b)               encoder: the layer itself, activation ``f``
    x_hat   = g(h @ W.T + c)                   decoder: tied weights ``W.T``, own visible bias ``c``

and it minimises the reconstruction loss of the *clean* input ``x`` (Vincent et al. 2008), summed
over the visible units and averaged over the samples of a mini-batch:

=================  ==========================================  ========================  =========
``loss``           value per sample                            decoder ``g``             input
=================  ==========================================  ========================  =========
``cross_entropy``  ``sum(softplus(z) - x * z)``, ``z`` the     sigmoid                   in [0, 1]
                   decoder pre-activation (= ``-sum(x log
                   x_hat + (1 - x) log(1 - x_hat))``)
``squared_error``  ``0.5 * sum((x_hat - x)**2)``                identity (linear)         any real
=================  ==========================================  ========================  =========

Cross-entropy with a sigmoid decoder is for inputs in [0, 1] (pixel intensities, the mean
activations of a sigmoid layer below); squared error with a linear decoder is for real-valued data
(standardised features, the output of a tanh or ReLU layer below). Both losses give the same
output delta ``dL/dz = x_hat - x``.

Corruption (denoising), Vincent et al. 2008 and 2010:

- ``noise="mask"``: each input component is set to 0 independently with probability
  ``corruption`` (the binomial masking of the LISA tutorial's ``dA.py``; the expected fraction
  zeroed is ``corruption``);
- ``noise="gaussian"``: additive isotropic noise ``x + sigma * N(0, I)`` on every component, with
  ``sigma = noise_std`` (by default ``sigma = corruption``, so one knob sets the corruption level).

Because the weights are tied, the gradient of the loss with respect to ``W`` has two terms, one
through the decoder and one through the encoder (the mask held fixed):

    delta_v = (x_hat - x) / n                          (n_samples, n_visible)
    delta_h = f'(z_h) * (delta_v @ W)                  (n_samples, n_hidden)
    dL/dW   = x_tilde.T @ delta_h  +  delta_v.T @ h    (n_visible, n_hidden)
    dL/db   = sum(delta_h, axis=0),   dL/dc = sum(delta_v, axis=0)

Training uses the engine's optimisers (:class:`~weightwise.backpropagation.optimizers.SGD` or ``Adam``),
which update ``W``, ``b`` and ``c`` in place, so the network sees every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backpropagation.optimizers import SGD, Adam, Optimizer, Schedule
from ..checks import check_fraction, check_positive_int, is_number
from ..errors import ConfigError, DataError, unknown_name
from ..net.activations import Activation, get_activation, softplus
from ..net.backend import (
    Array,
    Random,
    asarray,
    check_random,
    namespace,
    resolve_backend,
    resolve_dtype,
    to_numpy,
)
from ..net.backend import device as array_device
from ..net.initializers import Init, get_initializer
from ..net.network import Dense
from .history import LayerCallback, LayerHistory
from .learner import (
    check_visible_data,
    copy_arrays_into,
    refuse_outside_unit_interval,
    shuffled_order,
)
from .loop import run_epochs

AE_LOSSES = ("cross_entropy", "squared_error")
NOISES = ("mask", "gaussian")
AE_OPTIMIZERS = ("sgd", "adam")
AE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")
"""Hidden activations an auto-encoder can train: every elementwise one (not softmax)."""


@dataclass
class AutoEncoderHistory(LayerHistory):
    """A :class:`LayerHistory` with the auto-encoder's validation column.

    Attributes
    ----------
    val_reconstruction_error : list of float
        Reconstruction loss of the clean validation data after each epoch (no corruption); empty
        without validation data.
    """

    val_reconstruction_error: list[float] = field(default_factory=list)


class AutoEncoder:
    """Tied-weight auto-encoder on one layer's arrays; denoising when ``corruption > 0``.

    (With ``noise="gaussian"``, an explicit ``noise_std > 0`` also makes it denoising.)

    Parameters
    ----------
    W : array of shape (n_visible, n_hidden)
        Encoder weights, used as given (no copy): pass a Dense layer's ``W`` and every update
        changes the layer. The decoder uses ``W.T``.
    b_hidden : array of shape (n_hidden,)
        Encoder (hidden) bias, used as given.
    b_visible : array of shape (n_visible,), optional
        Decoder (visible) bias, the auto-encoder's own extra; zeros by default. It belongs to the
        auto-encoder alone: the network never uses it.
    activation : str
        The hidden (encoder) activation ``f``; any of :data:`AE_ACTIVATIONS`.
    corruption : float
        Corruption level in [0, 1): the masking probability (``noise="mask"``) or the default
        noise standard deviation (``noise="gaussian"``). 0 gives a plain auto-encoder.
    noise : {"mask", "gaussian"}
        Masking noise (zero a random ``corruption`` fraction of the inputs) or additive Gaussian
        noise.
    noise_std : float, optional
        Standard deviation of the Gaussian noise; defaults to ``corruption``.
    loss : {"cross_entropy", "squared_error"}
        Cross-entropy with a sigmoid decoder for inputs in [0, 1]; squared error with a linear
        decoder for real-valued inputs.
    learning_rate : float
    momentum : float
        SGD momentum in [0, 1) (ignored by Adam).
    weight_decay : float
        L2 penalty ``lambda >= 0`` on ``W`` only (not on the biases): adds ``lambda * W`` to
        ``dL/dW`` at each step.
    optimizer : {"sgd", "adam"} or Optimizer
    schedule : str or Schedule, optional
        Learning-rate schedule over epochs.
    batch_size : int
        Mini-batch size in :meth:`fit`.
    seed : int, Random, Generator or None
        Source of the corruption noise and the shuffling order.

    References
    ----------
    Vincent, Larochelle, Bengio, Manzagol (2008). Extracting and composing robust features with
    denoising autoencoders. ICML. Vincent et al. (2010). Stacked denoising autoencoders. JMLR 11.
    """

    def __init__(
        self,
        W: Array,
        b_hidden: Array,
        b_visible: Array | None = None,
        *,
        activation: str | Activation = "sigmoid",
        corruption: float = 0.0,
        noise: str = "mask",
        noise_std: float | None = None,
        loss: str = "cross_entropy",
        learning_rate: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        optimizer: str | Optimizer = "sgd",
        schedule: str | Schedule | None = None,
        batch_size: int = 100,
        seed: int | Random | np.random.Generator | None = None,
    ) -> None:
        if len(W.shape) != 2 or len(b_hidden.shape) != 1 or b_hidden.shape[0] != W.shape[1]:
            raise DataError(
                f"AutoEncoder needs W of shape (n_visible, n_hidden) and b_hidden of shape "
                f"(n_hidden,), got {tuple(W.shape)} and {tuple(b_hidden.shape)}"
            )
        xp = namespace(W, b_hidden)
        if b_visible is None:
            b_visible = xp.zeros((W.shape[0],), dtype=W.dtype, device=array_device(W))
        elif tuple(b_visible.shape) != (W.shape[0],):
            raise DataError(
                f"b_visible must have shape ({W.shape[0]},) (one bias per visible unit), "
                f"got {tuple(b_visible.shape)}"
            )
        act = get_activation(activation)
        if act.name not in AE_ACTIVATIONS:
            raise ConfigError(
                f"an auto-encoder cannot train a {act.name!r} layer: its hidden activation must be "
                f"elementwise, one of {', '.join(repr(a) for a in AE_ACTIVATIONS)}"
            )
        if loss not in AE_LOSSES:
            raise ConfigError(
                f"unknown auto-encoder loss {loss!r}; valid losses: 'cross_entropy' (inputs in "
                "[0, 1], sigmoid decoder), 'squared_error' (real-valued inputs, linear decoder)"
            )
        if noise not in NOISES:
            raise unknown_name("noise", noise, NOISES)
        self.corruption = check_fraction(
            corruption,
            "corruption",
            "the fraction of inputs masked (or the Gaussian noise level); 0 gives a plain "
            "auto-encoder, 0.1-0.5 is usual",
        )
        if noise_std is not None and not (is_number(noise_std) and noise_std >= 0):
            raise ConfigError(f"noise_std must be a number >= 0, got {noise_std!r}")
        if not weight_decay >= 0:
            raise ConfigError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.batch_size = check_positive_int(batch_size, "batch_size")

        self.W = W
        self.b_hidden = b_hidden
        self.b_visible = b_visible
        self.activation = act
        self.noise = noise
        self.noise_std = float(self.corruption if noise_std is None else noise_std)
        self.loss = loss
        self.weight_decay = float(weight_decay)
        self.rng = check_random(seed)
        self.n_epochs_ = 0  # completed epochs over all fit calls; drives the schedule
        # Where the auto-encoder sits in a stack ("layer 2 of 3"), for error messages; set by
        # pretrain.
        self.layer_label: str | None = None
        if isinstance(optimizer, Optimizer):
            self.optimizer = optimizer
        elif optimizer == "sgd":
            self.optimizer = SGD(learning_rate, momentum=momentum, schedule=schedule)
        elif optimizer == "adam":
            self.optimizer = Adam(learning_rate, schedule=schedule)
        else:
            raise unknown_name("optimizer", optimizer, AE_OPTIMIZERS)

    # construction -----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        n_visible: int,
        n_hidden: int,
        *,
        init: str | Init = "xavier_uniform",
        dtype: Any = "float32",
        backend: str = "numpy",
        device: Any = None,
        seed: int | Random | np.random.Generator | None = None,
        **params: Any,
    ) -> AutoEncoder:
        """A fresh auto-encoder not tied to any network.

        Parameters
        ----------
        n_visible, n_hidden : int
        init : str or callable
            Initialiser of ``W`` and ``b_hidden`` (see :mod:`weightwise.net.initializers`).
        dtype, backend, device
            As in :meth:`Network.create <weightwise.net.network.Network.create>`.
        seed : int, Random, Generator or None
            Draws the initial weights, then the noise and the shuffling.
        **params
            Keyword arguments of :class:`AutoEncoder`.
        """
        xp = resolve_backend(backend)
        dt = resolve_dtype(dtype, xp)
        rng = check_random(seed)
        W, b = get_initializer(init)(int(n_visible), int(n_hidden), rng)
        return cls(asarray(W, xp, dt, device), asarray(b, xp, dt, device), seed=rng, **params)

    @classmethod
    def from_layer(cls, layer: Dense, **params: Any) -> AutoEncoder:
        """An auto-encoder that shares ``layer.W`` and ``layer.b`` (no copy) and its activation.

        Raises
        ------
        ConfigError
            When the layer's activation is not elementwise (softmax), or ``activation`` is given
            and differs from the layer's.
        """
        given = params.pop("activation", None)
        if given is not None and get_activation(given).name != layer.activation.name:
            raise ConfigError(
                f"activation={given!r} differs from the layer's {layer.activation.name!r}; the "
                "auto-encoder's encoder is the layer itself, so leave activation out"
            )
        return cls(layer.W, layer.b, activation=layer.activation, **params)

    # properties -------------------------------------------------------------------------------
    @property
    def n_visible(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.W.shape[1])

    @property
    def denoising(self) -> bool:
        """True when inputs are corrupted before encoding."""
        return self.corruption > 0 or (self.noise == "gaussian" and self.noise_std > 0)

    def parameters(self) -> list[Array]:
        """The arrays the optimiser updates, ``[W, b_hidden, b_visible]`` (not copies)."""
        return [self.W, self.b_hidden, self.b_visible]

    # the model --------------------------------------------------------------------------------
    def encode(self, V: Array) -> Array:
        """Hidden code ``f(V @ W + b_hidden)``, shape (n_samples, n_hidden)."""
        return self.activation.fn(V @ self.W + self.b_hidden)

    def _decoder_preactivation(self, H: Array) -> Array:
        return H @ self.W.T + self.b_visible

    def decode(self, H: Array) -> Array:
        """Reconstruction ``g(H @ W.T + b_visible)``, shape (n_samples, n_visible).

        ``g`` is the sigmoid for the cross-entropy loss, the identity for squared error.
        """
        z = self._decoder_preactivation(H)
        return get_activation("sigmoid").fn(z) if self.loss == "cross_entropy" else z

    def reconstruct(self, V: Array) -> Array:
        """``decode(encode(V))`` without corruption, shape (n_samples, n_visible)."""
        return self.decode(self.encode(V))

    def transform(self, V: Array) -> Array:
        """The hidden code of clean data, :meth:`encode` (what the next layer trains on)."""
        return self.encode(self._check(V, "V"))

    def _loss_from(self, z_v: Array, x_hat: Array, V: Array) -> Array:
        """Mean over samples of the summed loss; 0-d array. ``z_v`` is the decoder pre-activation."""
        xp = namespace(z_v)
        n = z_v.shape[0]
        if self.loss == "cross_entropy":
            # softplus(z) - x z = -(x log sigmoid(z) + (1 - x) log(1 - sigmoid(z))), never log(0).
            return xp.sum(softplus(z_v) - V * z_v) / n
        r = x_hat - V
        return 0.5 * xp.sum(r * r) / n

    def gradients(self, V: Array, V_tilde: Array | None = None) -> tuple[Array, Array, Array, Array]:
        """Exact gradients of the reconstruction loss with respect to the tied ``W`` and the biases.

        Parameters
        ----------
        V : array of shape (n_samples, n_visible)
            Clean input, the reconstruction target.
        V_tilde : array of shape (n_samples, n_visible), optional
            The encoder's input: a corrupted copy of ``V`` (from :meth:`corrupt`), held fixed so the
            loss is a deterministic function of the weights. Defaults to ``V`` (no corruption).

        Returns
        -------
        dW : array of shape (n_visible, n_hidden)
            Encoder plus decoder contributions (tied weights).
        db_hidden : array of shape (n_hidden,)
        db_visible : array of shape (n_visible,)
        loss : 0-d array
            The loss at the current weights (mean over samples).
        """
        xp = namespace(V)
        x_in = V if V_tilde is None else V_tilde
        z_h = x_in @ self.W + self.b_hidden  # (n, n_hidden)
        h = self.activation.fn(z_h)
        z_v = self._decoder_preactivation(h)  # (n, n_visible)
        x_hat = get_activation("sigmoid").fn(z_v) if self.loss == "cross_entropy" else z_v
        loss = self._loss_from(z_v, x_hat, V)
        # Both losses, with their matching decoders, have dL/dz_v = x_hat - x.
        delta_v = (x_hat - V) / V.shape[0]  # (n, n_visible)
        delta_h = self.activation.backward(z_h, h, delta_v @ self.W)  # (n, n_hidden)
        dW = x_in.T @ delta_h + delta_v.T @ h
        return dW, xp.sum(delta_h, axis=0), xp.sum(delta_v, axis=0), loss

    def corrupt(self, V: Array) -> Array:
        """A corrupted copy of ``V`` (``V`` itself when there is no noise).

        Masking noise zeroes each component independently with probability ``corruption``;
        Gaussian noise adds ``noise_std * N(0, 1)`` to every component.
        """
        if not self.denoising:
            return V
        xp = namespace(V)
        if self.noise == "mask":
            keep = self.rng.random(tuple(V.shape), like=V) >= self.corruption
            return V * xp.astype(keep, V.dtype)
        return V + self.noise_std * self.rng.standard_normal(tuple(V.shape), like=V)

    def reconstruction_error(self, V: Any) -> float:
        """Reconstruction loss of clean ``V`` (no corruption), mean over samples."""
        return self._reconstruction_error(self._check(V, "V"))

    def _reconstruction_error(self, V: Array) -> float:
        h = self.encode(V)
        z_v = self._decoder_preactivation(h)
        x_hat = get_activation("sigmoid").fn(z_v) if self.loss == "cross_entropy" else z_v
        return float(self._loss_from(z_v, x_hat, V))

    # training ---------------------------------------------------------------------------------
    def _step(self, V: Array) -> Array:
        """One optimiser step on a checked mini-batch; returns its loss (before the step)."""
        dW, db_h, db_v, loss = self.gradients(V, self.corrupt(V))
        if self.weight_decay:
            dW = dW + self.weight_decay * self.W
        self.optimizer.step(self.parameters(), [dW, db_h, db_v])
        return loss

    def partial_fit(self, V: Any) -> float:
        """One update on one mini-batch ``V`` of shape (n_samples, n_visible); returns its loss."""
        return float(self._step(self._check(V, "V")))

    def fit(
        self,
        V: Any,
        epochs: int = 10,
        callbacks: Sequence[LayerCallback] = (),
        validation: Any = None,
    ) -> AutoEncoderHistory:
        """Train on ``V`` in shuffled mini-batches of ``batch_size``, updating the arrays in place.

        Parameters
        ----------
        V : array of shape (n_samples, n_visible)
        epochs : int
        callbacks : sequence of callables
            Called with a :class:`~weightwise.layerwise.history.LayerEpochInfo` after each epoch,
            even after one asked to stop; returning ``True`` (exactly, not any truthy value) stops
            after that epoch (the rule of :func:`weightwise.layerwise.loop.run_epochs`).
        validation : array of shape (n_val, n_visible), optional
            Clean held-out data whose reconstruction loss is recorded after each epoch.

        Returns
        -------
        AutoEncoderHistory
            This call's epochs, numbered from the learner's total so far (``n_epochs_``).
            ``reconstruction_error`` is the mean over the epoch's batches of the training loss
            (on corrupted inputs for a denoising auto-encoder, before each batch's update).

        Raises
        ------
        LayerDivergenceError
            A :class:`~weightwise.errors.DivergenceError` when an epoch's loss, or any value of
            ``W``, ``b_hidden`` or ``b_visible``, is NaN or infinite. The arrays keep their values
            from the start of that epoch; the optimiser's slots (momentum, Adam's moments) are
            reset to zero.
        """
        epochs = check_positive_int(epochs, "epochs")
        V = self._check(V, "V")
        V_val = None if validation is None else self._check(validation, "validation")
        xp = namespace(self.W)
        n = V.shape[0]
        bs = min(self.batch_size, n)
        history = AutoEncoderHistory()

        def train() -> float:
            # Epochs count across fit calls, so a second fit continues the learning-rate schedule.
            self.optimizer.set_epoch(self.n_epochs_)
            order = shuffled_order(self.rng, n, self.W) if bs < n else None
            loss_sum = 0.0 * xp.sum(self.b_visible)  # 0-d, on the right device: no sync per batch
            n_batches = 0
            for lo in range(0, n, bs):
                batch = V if order is None else xp.take(V, order[lo : lo + bs], axis=0)
                loss_sum = loss_sum + self._step(batch)
                n_batches += 1
            return float(loss_sum) / n_batches

        def record(error: float, seconds: float) -> dict[str, float]:
            history.append(self.n_epochs_, error, seconds, self.optimizer.learning_rate)
            logs = history.last()
            if V_val is not None:
                history.val_reconstruction_error.append(self._reconstruction_error(V_val))
                logs["val_reconstruction_error"] = history.val_reconstruction_error[-1]
            return logs

        run_epochs(self, epochs, train, record, history, callbacks)
        return history

    # the epoch loop's view (weightwise.layerwise.loop.LayerLearner) ---------------------------
    @property
    def display_name(self) -> str:
        return f"{'denoising ' if self.denoising else ''}AutoEncoder"

    @property
    def learning_rate(self) -> float:
        """The optimiser's base learning rate (before the schedule)."""
        return self.optimizer.learning_rate0

    def state_arrays(self) -> dict[str, Array]:
        """``W``, ``b_hidden`` and ``b_visible``, the live arrays."""
        return {"W": self.W, "b_hidden": self.b_hidden, "b_visible": self.b_visible}

    def reset_momentum(self) -> None:
        """Zero the optimiser's slots (momentum, Adam's moments); its step count stays."""
        scalars, arrays = self.optimizer.state_dict()
        zeros = {key: np.zeros_like(a) for key, a in arrays.items()}
        self.optimizer.load_state_dict(scalars, zeros, self.parameters())

    # checks and extras ------------------------------------------------------------------------
    def _check(self, V: Any, name: str) -> Array:
        """Validate shape and values of input data and move it to the weights' namespace."""
        V = check_visible_data(V, name, self.W, "the auto-encoder")
        if self.loss == "cross_entropy":
            refuse_outside_unit_interval(
                V,
                name,
                ", but the cross-entropy loss (sigmoid decoder) needs inputs in [0, 1]: scale the "
                "data to [0, 1] (e.g. divide by its maximum), or use loss='squared_error' for "
                "real-valued data",
            )
        return V

    def extra_arrays(self) -> dict[str, np.ndarray]:
        """The auto-encoder's own arrays (not the layer's), as NumPy copies, for saving."""
        return {"b_visible": np.array(to_numpy(self.b_visible), copy=True)}

    def load_extra_arrays(self, arrays: dict[str, Any]) -> None:
        """Copy arrays from :meth:`extra_arrays` back in place."""
        copy_arrays_into({"b_visible": self.b_visible}, arrays, "auto-encoder")

    # checkpointing ----------------------------------------------------------------------------
    def training_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What training needs, beyond the parameters, to go on exactly where it stopped.

        Returns
        -------
        scalars : dict
            JSON-able: completed epochs (which drive the schedule), the random stream (shuffling
            and corruption) and the optimiser's scalars.
        arrays : dict of str to ndarray
            NumPy copies of the optimiser's slots (momentum, or Adam's moments), keyed
            ``"opt.{slot}.{i}"`` for parameter ``i`` of ``[W, b_hidden, b_visible]``.
        """
        opt_scalars, opt_arrays = self.optimizer.state_dict()
        scalars = {"n_epochs": self.n_epochs_, "rng": self.rng.get_state(), "optimizer": opt_scalars}
        return scalars, {f"opt.{k}": v for k, v in opt_arrays.items()}

    def load_training_state(self, scalars: dict[str, Any], arrays: dict[str, Any]) -> None:
        """Restore what :meth:`training_state` returned (the parameters are restored apart)."""
        if scalars["optimizer"].get("name") != self.optimizer.name:
            raise DataError(
                f"the training state is for the {scalars['optimizer'].get('name')!r} optimiser, "
                f"not {self.optimizer.name!r}"
            )
        slots = {k[4:]: np.asarray(to_numpy(v)) for k, v in arrays.items() if k.startswith("opt.")}
        self.optimizer.load_state_dict(scalars["optimizer"], slots, self.parameters())
        self.n_epochs_ = int(scalars["n_epochs"])
        self.rng.set_state(scalars["rng"])

    def __repr__(self) -> str:
        kind = "denoising " if self.denoising else ""
        noise = f", {self.noise} noise {self.corruption:g}" if self.denoising else ""
        return (
            f"AutoEncoder({kind}{self.n_visible} -> {self.n_hidden}, {self.activation.name}, "
            f"loss={self.loss}{noise})"
        )
