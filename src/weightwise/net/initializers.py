"""Weight initialisers.

Each initialiser draws a layer's weights ``W`` of shape ``(fan_in, fan_out)`` and biases ``b`` of
shape ``(fan_out,)`` on the host in float64 from an explicit :class:`~weightwise.net.backend.Random`,
so every backend and dtype starts from the same numbers for the same seed. Draw order: ``W`` then
``b``, layer by layer from the input.

==================  ==========================================  =================================
name                weights                                     reference
==================  ==========================================  =================================
``normal``          N(0, sigma**2), sigma = 1; biases too        the textbook XOR example
``small_normal``    N(0, 0.01**2), zero biases                   Hinton 2010, RBM practical guide
``uniform``         U(-limit, limit), limit = 1; biases too
``xavier_normal``   N(0, 2 / (fan_in + fan_out))                 Glorot and Bengio 2010
``xavier_uniform``  U(+-sqrt(6 / (fan_in + fan_out)))            Glorot and Bengio 2010, eq. 16
``he_normal``       N(0, 2 / fan_in)                             He et al. 2015
``he_uniform``      U(+-sqrt(6 / fan_in))                        He et al. 2015
``lecun_normal``    N(0, 1 / fan_in)                             LeCun et al. 1998
``lecun_uniform``   U(+-sqrt(3 / fan_in))                        LeCun et al. 1998
``standard``        U(+-1 / sqrt(fan_in))                        the "standard" init of Glorot 2010
==================  ==========================================  =================================

``glorot_*`` are aliases of ``xavier_*``. All but ``normal`` and ``uniform`` set biases to zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import ConfigError, unknown_name
from .backend import Random

Init = Callable[[int, int, Random], tuple[np.ndarray, np.ndarray]]


def normal(sigma: float = 1.0) -> Init:
    """Weights and biases from N(0, sigma**2); ``sigma=1`` is the textbook example."""
    if not sigma > 0:
        raise ConfigError(f"normal initialiser needs sigma > 0, got {sigma}")

    def init(fan_in: int, fan_out: int, rng: Random) -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(sigma, (fan_in, fan_out)), rng.normal(sigma, (fan_out,))

    return init


def uniform(limit: float = 1.0) -> Init:
    """Weights and biases from U(-limit, limit)."""
    if not limit > 0:
        raise ConfigError(f"uniform initialiser needs limit > 0, got {limit}")

    def init(fan_in: int, fan_out: int, rng: Random) -> tuple[np.ndarray, np.ndarray]:
        return (
            rng.uniform(-limit, limit, (fan_in, fan_out)),
            rng.uniform(-limit, limit, (fan_out,)),
        )

    return init


def _scaled_normal(std: Callable[[int, int], float]) -> Init:
    def init(fan_in: int, fan_out: int, rng: Random) -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(std(fan_in, fan_out), (fan_in, fan_out)), np.zeros(fan_out)

    return init


def _scaled_uniform(limit: Callable[[int, int], float]) -> Init:
    def init(fan_in: int, fan_out: int, rng: Random) -> tuple[np.ndarray, np.ndarray]:
        bound = limit(fan_in, fan_out)
        return rng.uniform(-bound, bound, (fan_in, fan_out)), np.zeros(fan_out)

    return init


INITIALIZERS: dict[str, Init] = {
    "normal": normal(1.0),
    "small_normal": _scaled_normal(lambda i, o: 0.01),
    "uniform": uniform(1.0),
    "xavier_normal": _scaled_normal(lambda i, o: math.sqrt(2.0 / (i + o))),
    "xavier_uniform": _scaled_uniform(lambda i, o: math.sqrt(6.0 / (i + o))),
    "he_normal": _scaled_normal(lambda i, o: math.sqrt(2.0 / i)),
    "he_uniform": _scaled_uniform(lambda i, o: math.sqrt(6.0 / i)),
    "lecun_normal": _scaled_normal(lambda i, o: math.sqrt(1.0 / i)),
    "lecun_uniform": _scaled_uniform(lambda i, o: math.sqrt(3.0 / i)),
    "standard": _scaled_uniform(lambda i, o: 1.0 / math.sqrt(i)),
}

_ALIASES = {
    "glorot_normal": "xavier_normal",
    "glorot_uniform": "xavier_uniform",
    "xavier": "xavier_uniform",
    "glorot": "xavier_uniform",
    "he": "he_normal",
    "kaiming": "he_normal",
    "lecun": "lecun_normal",
}


def get_initializer(name: str | Init) -> Init:
    """Look up an initialiser by name, or pass a callable through.

    A callable must have the signature ``init(fan_in, fan_out, rng) -> (W, b)``.
    """
    if callable(name):
        return name
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in INITIALIZERS:
        raise unknown_name("initializer", name, list(INITIALIZERS) + list(_ALIASES))
    return INITIALIZERS[key]
