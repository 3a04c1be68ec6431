"""Array namespaces, dtypes, devices and random generators.

The maths in weightwise never imports NumPy or PyTorch directly for arithmetic: it asks
:func:`namespace` for the array-API namespace of its inputs (via ``array_api_compat``), so the
same code trains on NumPy arrays and on PyTorch tensors (CPU or CUDA).

Random numbers come from an explicit :class:`Random` object. Draws that must be identical across
backends (initial weights, shuffling orders) are made on the host with a NumPy ``Generator`` and
moved to the target device, so a NumPy run and a PyTorch run with the same seed start from the
same weights and visit the batches in the same order.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

Array = Any
"""Any array-API array: a NumPy ndarray or a PyTorch tensor."""

DTYPES = ("float32", "float64")


_NUMPY_NS = array_api_compat.array_namespace(np.empty(0))


def namespace(*arrays: Array) -> Any:
    """Return the array-API namespace shared by ``arrays``.

    Raises
    ------
    TypeError
        If the arrays come from different libraries.
    """
    # Fast path: the training loop asks this thousands of times per second for NumPy arrays.
    if all(type(a) is np.ndarray for a in arrays):
        return _NUMPY_NS
    return array_api_compat.array_namespace(*arrays)


def is_numpy(xp: Any) -> bool:
    """True when ``xp`` is the NumPy namespace (plain or array-api-compat wrapped)."""
    return bool(array_api_compat.is_numpy_namespace(xp))


def is_torch(xp: Any) -> bool:
    """True when ``xp`` is the PyTorch namespace."""
    return bool(array_api_compat.is_torch_namespace(xp))


def numpy_namespace() -> Any:
    """The array-API namespace of NumPy."""
    return _NUMPY_NS


def torch_namespace() -> Any:
    """The array-API namespace of PyTorch (raises ImportError when torch is absent)."""
    import torch

    return array_api_compat.array_namespace(torch.empty(0))


def resolve_backend(backend: str) -> Any:
    """Namespace for a backend name: ``"numpy"`` or ``"torch"``."""
    if backend == "numpy":
        return numpy_namespace()
    if backend == "torch":
        try:
            return torch_namespace()
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("backend 'torch' needs PyTorch: pip install 'weightwise[torch]'") from exc
    raise ValueError(f"unknown backend {backend!r}; valid backends: 'numpy', 'torch'")


def check_device(backend: str, device: Any) -> None:
    """Refuse a ``device`` that ``backend`` cannot use, with what to install or pass instead.

    ``device=None`` is always fine. The NumPy backend runs on the CPU only; PyTorch needs a CUDA
    build and a visible GPU for ``"cuda"`` (``"cuda:1"``...), and Apple's MPS for ``"mps"``.

    Raises
    ------
    ConfigError
        One line naming the device and the fix.
    """
    from ..errors import ConfigError

    if device is None:
        return
    name = str(device)
    if backend == "numpy":
        if name == "cpu":
            return
        raise ConfigError(
            f"device={name!r} needs the PyTorch backend (backend='torch'); the NumPy backend runs "
            "on the CPU only"
        )
    if backend != "torch":
        return  # the backend's own check names it
    try:
        import torch
    except ImportError as exc:
        raise ConfigError(f"device={name!r} needs PyTorch: pip install 'weightwise[torch]'") from exc
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"device={name!r} is not a PyTorch device; pass 'cpu', 'cuda', 'cuda:0' or 'mps'"
        ) from exc
    if kind == "cuda" and not torch.cuda.is_available():
        why = "was built without CUDA" if torch.version.cuda is None else "finds no CUDA GPU"
        raise ConfigError(
            f"device={name!r}: this PyTorch {torch.__version__} {why}; install a CUDA build "
            "(https://pytorch.org/get-started/locally/) on a machine with an NVIDIA GPU, or pass "
            "device='cpu'"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            f"device={name!r}: Apple's MPS is not available to this PyTorch; pass device='cpu'"
        )


def resolve_dtype(dtype: Any, xp: Any) -> Any:
    """Map ``"float32"``/``"float64"`` (or a dtype object) to ``xp``'s floating dtype."""
    if dtype is None:
        dtype = "float32"
    name = dtype if isinstance(dtype, str) else _dtype_name(dtype)
    if name not in DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}; valid dtypes: 'float32', 'float64'")
    return getattr(xp, name)


def dtype_name(dtype: Any) -> str:
    """``"float32"`` or ``"float64"`` for a NumPy or PyTorch dtype."""
    name = _dtype_name(dtype)
    if name not in DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}; valid dtypes: 'float32', 'float64'")
    return name


def _dtype_name(dtype: Any) -> str:
    text = str(dtype)
    return text.removeprefix("torch.")


def device(x: Array) -> Any:
    """The device ``x`` lives on (``"cpu"`` for NumPy)."""
    return array_api_compat.device(x)


def to_numpy(x: Array) -> np.ndarray:
    """Copy-free where possible conversion of any supported array to a NumPy array."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def asarray(x: Any, xp: Any, dtype: Any = None, device: Any = None) -> Array:
    """Put host data ``x`` into namespace ``xp`` with ``dtype`` on ``device``."""
    if is_torch(xp):
        import torch

        if isinstance(x, np.ndarray) and not x.flags.writeable:
            x = np.array(x)
        t = torch.as_tensor(x, device=device)
        return t.to(dtype) if dtype is not None else t
    if dtype is None:
        return xp.asarray(x)
    return xp.asarray(x, dtype=dtype)


class Random:
    """An explicit random generator that works for every backend.

    Wraps a NumPy ``Generator`` (for host draws shared by all backends: initial weights, shuffling
    orders) and lazily a ``torch.Generator`` per device for on-device draws (Bernoulli samples of an
    RBM on a GPU), seeded from the NumPy stream so one seed fixes everything.

    Parameters
    ----------
    seed : int, numpy.random.Generator, Random or None
        Seed or generator. ``None`` draws fresh entropy.
    """

    def __init__(self, seed: int | np.random.Generator | Random | None = None) -> None:
        if isinstance(seed, Random):
            self.numpy: np.random.Generator = seed.numpy
        elif isinstance(seed, np.random.Generator):
            self.numpy = seed
        elif isinstance(seed, np.random.RandomState):
            self.numpy = np.random.default_rng(seed.randint(np.iinfo(np.int32).max))
        else:
            if seed is not None and not isinstance(seed, (int, np.integer)):
                raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
            self.numpy = np.random.default_rng(seed)
        self._torch: dict[str, Any] = {}

    # host draws, identical whatever the backend -------------------------------------------
    def normal(self, scale: float, shape: tuple[int, ...]) -> np.ndarray:
        """Float64 draws from N(0, scale**2) on the host."""
        return self.numpy.normal(0.0, scale, size=shape)

    def uniform(self, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
        """Float64 draws from U(low, high) on the host."""
        return self.numpy.uniform(low, high, size=shape)

    def permutation(self, n: int) -> np.ndarray:
        """A random permutation of ``range(n)`` on the host."""
        return self.numpy.permutation(n)

    # device draws -----------------------------------------------------------------------------
    def random(self, shape: tuple[int, ...], like: Array) -> Array:
        """U[0, 1) draws with the namespace, dtype and device of ``like``."""
        return self._draw("rand", self.numpy.random, shape, like)

    def standard_normal(self, shape: tuple[int, ...], like: Array) -> Array:
        """N(0, 1) draws with the namespace, dtype and device of ``like``."""
        return self._draw("randn", self.numpy.standard_normal, shape, like)

    def _draw(self, torch_name: str, numpy_draw: Any, shape: tuple[int, ...], like: Array) -> Array:
        """Draws of ``torch.<torch_name>`` on ``like``'s device, or of ``numpy_draw`` on the host."""
        if is_torch(namespace(like)):
            import torch

            gen = self._torch_generator(like.device)
            draw = getattr(torch, torch_name)
            return draw(shape, generator=gen, dtype=like.dtype, device=like.device)
        return numpy_draw(size=shape, dtype=like.dtype)

    def _torch_generator(self, dev: Any) -> Any:
        import torch

        key = str(dev)
        if key not in self._torch:
            gen = torch.Generator(device=dev)
            gen.manual_seed(int(self.numpy.integers(0, 2**62)))
            self._torch[key] = gen
        return self._torch[key]

    # checkpointing ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """JSON-serialisable state of the host stream (torch streams are re-derived)."""
        return {"bit_generator": self.numpy.bit_generator.state}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`get_state`."""
        self.numpy.bit_generator.state = state["bit_generator"]
        self._torch.clear()


def check_random(seed: Any) -> Random:
    """Turn ``seed`` (int, None, Generator, RandomState or Random) into a :class:`Random`."""
    return seed if isinstance(seed, Random) else Random(seed)
