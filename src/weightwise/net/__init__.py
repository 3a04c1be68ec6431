"""The ground floor: the network whose weights both families of methods adjust.

- :mod:`.network`: :class:`Network`, a stack of :class:`Dense` layers holding ``W`` and ``b``;
- :mod:`.activations`, :mod:`.losses`, :mod:`.initializers`: the pieces a network is made of,
  each with its derivative or its rule;
- :mod:`.backend`: the array library of the inputs (NumPy, or PyTorch tensors on CPU or CUDA)
  through array-api-compat, and the random stream :class:`~.backend.Random`;
- :mod:`.inplace`: in-place BLAS kernels the fast paths use, each with a plain NumPy fallback;
- :mod:`.validation`: data checked once, at the door.
"""

from __future__ import annotations

from .network import Dense, Forward, Network

__all__ = ["Dense", "Forward", "Network"]
