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
from ._params import PATH_PARAMS, UNSAVED_PARAMS

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


def altered(path: Any, kind: str, problem: str) -> ModelFileError:
    """The error for a model file whose estimator record does not hold together (one line)."""
    first = problem.splitlines()[0] if problem else "malformed"
    return ModelFileError(f"{path} was altered or damaged: its {kind} record is invalid ({first})")


def _from_settings(cls: Any, path: Any, meta: dict[str, Any], net: Network) -> Any:
    """A new ``cls`` with the saved settings, after checking them against the schema: a dict of
    known parameters that pass the estimator's own checks; paths are never taken from a file."""
    kind = cls.__name__
    params = meta.get("params")
    if not isinstance(params, dict):
        raise altered(path, kind, "no 'params' dict of settings")
    known = set(cls().get_params())
    unknown = sorted(set(params) - known)
    if unknown:
        raise altered(path, kind, f"unknown settings {unknown}")
    params = {k: v for k, v in params.items() if k not in UNSAVED_PARAMS and k not in PATH_PARAMS}
    for key in _TUPLE_PARAMS:
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    est = cls(**params)
    try:
        est._check_settings(devices=False)
    except (ValueError, TypeError) as exc:  # ConfigError and DataError are ValueErrors
        raise altered(path, kind, str(exc)) from exc
    n_features = meta.get("n_features_in")
    if not isinstance(n_features, int) or isinstance(n_features, bool) or n_features != net.sizes[0]:
        raise altered(path, kind, f"n_features_in {n_features!r} is not the network's {net.sizes[0]}")
    names = meta.get("feature_names_in")
    if names is not None and (
        not isinstance(names, list)
        or len(names) != n_features
        or not all(isinstance(n, str) for n in names)
    ):
        raise altered(path, kind, f"feature_names_in is not a list of {n_features} names")
    est.network_ = net
    est.n_features_in_ = n_features
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    est._rng = Random(check_random_state(est.random_state))
    return est


# scikit-learn's names for settings weightwise names otherwise (MLPClassifier, BernoulliRBM):
# a user who tries them gets a TypeError that names the setting here.
SKLEARN_NAMES = {
    "max_iter": ("max_epochs", "n_iter"),
    "learning_rate_init": ("learning_rate",),
    "n_components": ("hidden_layer_sizes",),
    "hidden_layers": ("hidden_layer_sizes",),
    "epochs": ("max_epochs", "n_iter"),
}


def _refuse_other_names(cls: type, kwargs: dict[str, Any]) -> None:
    """TypeError for a keyword that is another library's name of one of ``cls``'s settings."""
    import dataclasses

    if not dataclasses.is_dataclass(cls):
        return
    fields = {f.name for f in dataclasses.fields(cls)}
    for key in kwargs:
        ours = [name for name in SKLEARN_NAMES.get(key, ()) if name in fields]
        if key not in fields and ours:
            raise TypeError(
                f"{cls.__name__}() got an unexpected keyword argument {key!r}; weightwise calls "
                f"it {ours[0]!r}: {cls.__name__}({ours[0]}=...)"
            )


class _SavedEstimator:
    """Mixin: :meth:`save` and :meth:`load` around ``network_``, ``n_features_in_`` and the
    settings; subclasses add the rest through :meth:`_model_metadata` and :meth:`_restore`."""

    network_: Network
    n_features_in_: int
    feature_names_in_: np.ndarray
    random_state: Any
    _rng: Random

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # Before the dataclass __init__ refuses an unknown keyword without a hint.
        _refuse_other_names(cls, kwargs)
        return super().__new__(cls)

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
            "params": {
                k: jsonable_param(v)
                for k, v in params.items()
                if k not in UNSAVED_PARAMS and k not in PATH_PARAMS
            },
            "n_features_in": self.n_features_in_,
            "feature_names_in": None if names is None else [str(n) for n in names],
        }
        extras = self._model_metadata(meta)
        written = save_network(self.network_, path, metadata=meta, extra_arrays=extras)
        if self._backup_pending:  # the model is on disk (written, fsynced, moved into place)
            self._remove_backup()
            self._backup_pending = False
        return written

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
        est = _from_settings(cls, path, meta, net)
        try:
            est._restore(meta, extras)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            # ValueError covers the ModelFileErrors of the checks in _restore, and ConfigError
            # and DataError: a learner refusing its saved settings or arrays.
            what = str(exc) if isinstance(exc, ModelFileError) else f"{type(exc).__name__}: {exc}"
            raise altered(path, cls.__name__, what) from exc
        return est

    # the backup in checkpoint_dir -------------------------------------------------------------------
    _keep_backup = False  # instance attributes once set; never parameters
    _backup_pending = False

    def _keep_checkpoint_until_saved(self) -> Any:
        """Keep the backup in ``checkpoint_dir`` after ``fit`` until :meth:`save` has written the
        model file; return ``self``.

        ``fit`` normally deletes its backup when it ends. A program that saves the model
        afterwards (``weightwise train``) calls this before ``fit``: killed between the end of
        ``fit`` and the model file reaching the disk, the run is then not lost, since the backup
        resumes at the end. :meth:`save` deletes the backup once the file is written and flushed
        to disk; :meth:`discard_checkpoint` deletes it without saving.
        """
        self._keep_backup = True
        return self

    def discard_checkpoint(self) -> None:
        """Delete the backup that a finished ``fit`` left in ``checkpoint_dir`` (see
        :meth:`_keep_checkpoint_until_saved`); nothing happens when there is none."""
        if self._backup_pending:
            self._remove_backup()
            self._backup_pending = False

    def _backup_finished(self) -> None:
        """At the end of a fit with ``checkpoint_dir``: delete the backup, or keep it for save."""
        if self._keep_backup:
            self._backup_pending = True
        else:
            self._remove_backup()

    # hooks ----------------------------------------------------------------------------------------
    def _remove_backup(self) -> None:
        """Delete this estimator's backup in ``checkpoint_dir``."""
        raise NotImplementedError  # pragma: no cover - every estimator defines it

    def _check_settings(self, devices: bool = True) -> None:
        """Check every setting (see the estimators' ``_params`` and ``_constraints``)."""
        raise NotImplementedError  # pragma: no cover - every estimator defines it

    def _model_metadata(self, meta: dict[str, Any]) -> dict[str, np.ndarray]:
        """Add this estimator's entries to ``meta`` in place; return its extra arrays."""
        raise NotImplementedError  # pragma: no cover - every estimator defines it

    def _restore(self, meta: dict[str, Any], extras: dict[str, np.ndarray]) -> None:
        """Set the fitted attributes that ``meta`` and ``extras`` hold beside ``network_``."""
        raise NotImplementedError  # pragma: no cover - every estimator defines it
