"""``save`` and ``load`` for every estimator here: the network's arrays in a safetensors model file
(see :mod:`weightwise.io`), the settings and what was learned beside them as JSON metadata.

Nothing is pickled. Each estimator adds its own metadata and arrays through two hooks,
:meth:`_SavedEstimator._model_metadata` and :meth:`_SavedEstimator._restore`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..errors import ModelFileError
from ..net.backend import Random
from ..net.network import Network
from ._params import UNSAVED_PARAMS

# Parameters that JSON turns from tuples into lists: turned back on loading.
_TUPLE_PARAMS = ("hidden_layer_sizes", "activation")


def jsonable_param(value: Any) -> Any:
    """A parameter's value as JSON can hold it."""
    if isinstance(value, (np.random.RandomState, np.random.Generator)):
        return None  # a generator's state is not a setting; the saved weights are what count
    if isinstance(value, tuple):
        return list(value)
    if value is not None and not isinstance(value, (bool, int, float, str, list)):
        return str(value)  # e.g. torch.device
    return value


def check_model_kind(path: Any, meta: dict[str, Any], expected: str) -> None:
    """Refuse a model file that holds another kind of model than ``expected``, naming its reader."""
    kind = meta.get("estimator")
    if kind != expected:
        what = f"a {kind}" if kind else "a bare Network, not an estimator"
        fix = f"{kind}.load" if kind else "weightwise.io.load_network"
        raise ModelFileError(f"{path} holds {what}; read it with {fix}")


class _SavedEstimator:
    """Mixin: :meth:`save` and :meth:`load` around ``network_``, ``n_features_in_`` and the
    settings; subclasses add the rest through :meth:`_model_metadata` and :meth:`_restore`."""

    network_: Network
    n_features_in_: int
    feature_names_in_: np.ndarray
    random_state: Any
    _rng: Random

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted estimator to a safetensors model file (see :mod:`weightwise.io`).

        The file holds the network's arrays, the learners' own arrays (visible biases, Gaussian
        variances) and JSON metadata: ``get_params()`` (callbacks aside), feature names,
        ``n_features_in_``, classes and the training history. Nothing is pickled. Optimiser state
        is not kept: ``partial_fit`` after :meth:`load` starts a fresh optimiser.
        """
        from ..io import save_network

        check_is_fitted(self, "network_")
        params = self.get_params()  # type: ignore[attr-defined]
        names = getattr(self, "feature_names_in_", None)
        meta = {
            "estimator": type(self).__name__,
            "params": {k: jsonable_param(v) for k, v in params.items() if k not in UNSAVED_PARAMS},
            "n_features_in": self.n_features_in_,
            "feature_names_in": None if names is None else [str(n) for n in names],
        }
        extras = self._model_metadata(meta)
        return save_network(self.network_, path, metadata=meta, extra_arrays=extras)

    @classmethod
    def load(cls, path: str | os.PathLike[str], backend: str = "numpy", device: Any = None) -> Any:
        """Read an estimator written by :meth:`save`; its learners can reconstruct and sample again.

        ``path``, ``backend`` (the library of the loaded arrays) and ``device`` are those of
        :func:`weightwise.io.load_network`.

        Raises
        ------
        ModelFileError
            For a damaged or altered file, or one that holds another kind of model.
        """
        from ..io import load_network

        net, meta, extras = load_network(path, backend=backend, device=device)
        check_model_kind(path, meta, cls.__name__)
        params = dict(meta["params"])
        for key in _TUPLE_PARAMS:
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        est = cls(**params)
        est.network_ = net
        est.n_features_in_ = int(meta["n_features_in"])
        if meta.get("feature_names_in") is not None:
            est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        est._rng = Random(check_random_state(est.random_state))
        est._restore(meta, extras)
        return est

    # hooks ----------------------------------------------------------------------------------------
    def _model_metadata(self, meta: dict[str, Any]) -> dict[str, np.ndarray]:
        """Add this estimator's entries to ``meta`` in place; return its extra arrays."""
        raise NotImplementedError  # pragma: no cover - every estimator defines it

    def _restore(self, meta: dict[str, Any], extras: dict[str, np.ndarray]) -> None:
        """Set the fitted attributes that ``meta`` and ``extras`` hold beside ``network_``."""
        raise NotImplementedError  # pragma: no cover - every estimator defines it
