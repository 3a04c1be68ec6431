"""Interop: carry weightwise's weights into the tools users already have, and watch training live.

- :func:`to_torch` / :func:`from_torch`: a :class:`~weightwise.net.network.Network` (or a fitted
  estimator, or a pre-trained stack) as a ``torch.nn.Sequential`` and back;
  :func:`export_torch` / :func:`load_torch` the same in a safetensors file (never a pickle).
- :func:`export_onnx` / :func:`to_onnx`: an ONNX model whose outputs equal ``predict``,
  ``predict_proba`` or ``transform``.
- :class:`TensorBoard`: one callback for :func:`weightwise.fit`, :func:`weightwise.pretrain` and
  the estimators, writing scalars, histograms and images for TensorBoard.

This floor sits beside the estimators: it imports them and everything below, and nothing below
imports it. PyTorch, onnx and tensorboardX are optional; each function imports what it needs
and names the extra to install when it is missing (``pip install 'weightwise[interop]'``).
"""

from ._models import Exportable, InputScaling, resolve
from .onnx_export import ONNX_OPS, ONNX_OPSET, export_onnx, to_onnx
from .pytorch import TORCH_MODULES, describe, export_torch, from_torch, load_torch, to_torch
from .tensorboard import TensorBoard

__all__ = [
    "ONNX_OPS",
    "ONNX_OPSET",
    "TORCH_MODULES",
    "Exportable",
    "InputScaling",
    "TensorBoard",
    "describe",
    "export_onnx",
    "export_torch",
    "from_torch",
    "load_torch",
    "resolve",
    "to_onnx",
    "to_torch",
]
