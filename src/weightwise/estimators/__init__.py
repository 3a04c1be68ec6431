"""scikit-learn estimators on top of the engine.

- :class:`BPClassifier`, :class:`BPRegressor`: multi-layer perceptrons trained by back-propagation,
  optionally after greedy layer-wise pre-training (``pretrain="rbm"``, ``"autoencoder"``, ...).
- :class:`RBM`, :class:`DBN`, :class:`StackedAutoEncoder`: unsupervised transformers, stacks of
  layers trained front to back by the learners of :mod:`weightwise.layerwise`.

Each estimator builds a :class:`~weightwise.net.network.Network` with
:meth:`~weightwise.net.network.Network.create` and trains it with the engine's loops
(:func:`weightwise.backpropagation.training.fit`, :func:`weightwise.layerwise.greedy.pretrain`); nothing
here does arithmetic of its own beyond encoding labels and scoring. The BP estimators' ``fit`` runs
in four steps, in this order: validate and encode the data; build (or, with
``warm_start``/``partial_fit``, keep) the network; pre-train its hidden layers front to back (with
``pretrain``, on a fresh network only); adjust it back to front by BP.

Conventions shared by the BP estimators
---------------------------------------
- **Arrays.** ``X`` may be a NumPy array (or anything :func:`sklearn.utils.validation.validate_data`
  accepts, pandas included) or a PyTorch tensor. Results follow the input: a tensor in gives a
  tensor out, on the input's device, in the network's dtype; a NumPy input gives NumPy results in
  ``X``'s floating dtype (the network's for integer ``X``), as scikit-learn's MLP does. Sparse input is
  refused with scikit-learn's ``TypeError`` (convert with ``X.toarray()``): a dense layer would
  densify it anyway.
- **backend** ``"auto"`` trains on the input's library and device (PyTorch tensors train in
  PyTorch); ``"numpy"``/``"torch"`` force one. ``device`` picks a PyTorch device.
- **alpha** is scikit-learn's L2 penalty: ``alpha / 2 * sum ||W_l||^2`` (weights only, not biases)
  added to each mini-batch's loss, divided by the batch size with ``reduction="mean"`` (exactly
  :class:`sklearn.neural_network.MLPClassifier`; the nominal batch size is used for the last,
  smaller batch). ``loss_curve_`` records the data loss without the penalty.
- **Stopping.** Training stops at ``max_epochs``; earlier when the training loss has not improved by
  ``tol`` for ``n_iter_no_change`` epochs (``tol=None`` turns this off), when it falls below
  ``threshold`` (the textbook's error threshold), or with ``early_stopping`` when the score on a
  held-out ``validation_fraction`` has not improved by ``tol`` for ``n_iter_no_change`` epochs: the
  accuracy for a classifier (as scikit-learn's MLP), the loss for a regressor; the best weights are
  then restored. ``validation_scores_`` records the validation accuracy (or R^2).
- **partial_fit** runs one epoch over the given batch; the optimiser's state and the learning-rate
  schedule carry over between calls. The stopping rules and early stopping do not apply to it.
"""

from ._bp import BPClassifier, BPRegressor
from ._rbm import DBN, RBM
from ._stacked_autoencoder import StackedAutoEncoder

__all__ = ["DBN", "RBM", "BPClassifier", "BPRegressor", "StackedAutoEncoder"]
