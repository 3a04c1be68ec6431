"""The numpydoc ``Parameters`` and ``Attributes`` sections that :class:`BPClassifier` and
:class:`BPRegressor` share, in one place so that the two class docstrings cannot drift apart."""

from ._pretrain import PRETRAIN_ATTR_DOC, PRETRAIN_PARAM_DOC

PARAM_DOC = """
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer, input side first; ``()`` for none.
    activation : str or tuple of str, default="relu"
        Hidden activation (``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``, ``"softplus"``,
        ``"identity"``), one for all hidden layers or one per hidden layer.
    output_activation : str, optional
        See the class description for the default.
    loss : {"squared_error", "cross_entropy", "binary_cross_entropy"}, optional
        Must fit the output activation; see the class description for the default.
    init : str, default="xavier_uniform"
        Weight initialiser (see :mod:`weightwise.net.initializers`); ``"normal"`` is the textbook's
        N(0, 1).
    solver : {"adam", "sgd"}, default="adam"
    learning_rate : float, default=0.001
        Initial step size.
    learning_rate_schedule : {"constant", "step", "inverse_scaling", "exponential"}, default="constant"
        Per-epoch decay; ``lr_step_size`` and ``lr_gamma`` (step, exponential) and ``power_t``
        (inverse scaling) set it.
    lr_step_size : int, default=10
    lr_gamma : float, default=0.5
    power_t : float, default=0.5
    momentum : float, default=0.9
        SGD momentum in [0, 1); ``0`` for the textbook's plain gradient descent.
    nesterov : bool, default=False
        Nesterov momentum (SGD).
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's moment decay rates and denominator guard.
    alpha : float, default=1e-4
        L2 penalty on the weights (scikit-learn's convention, see the module notes).
    batch_size : int, "auto" or "full", default="auto"
        ``"auto"`` is ``min(200, n_samples)``; ``"full"`` is the whole training set per update.
    reduction : {"mean", "sum"}, default="mean"
        Average or add the per-sample gradients of a batch; the textbook adds.
    shuffle : bool, default=True
        Shuffle the samples each epoch.
    max_epochs : int, default=200
    tol : float or None, default=1e-4
        Minimum improvement counted by the stopping rules (of the training loss, or with
        ``early_stopping`` of the monitored validation score); ``None`` disables the training-loss
        rule (the run then lasts ``max_epochs`` unless ``threshold`` or early stopping ends it).
    threshold : float, optional
        Stop once an epoch's training loss is below this value.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its score has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, restoring the best epoch's weights. As in
        scikit-learn's MLP, a classifier watches the validation accuracy (higher is better); a
        regressor watches the validation loss (for squared error on one output, the same ranking
        as R^2). One exception: a classifier with one ``"sigmoid"`` unit per class of
        single-label targets watches the loss, as the engine's accuracy there is multi-label.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
        Patience of the stopping rules, in epochs.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the shuffling and the validation split.
    verbose : bool, default=False
        Print the loss after every epoch.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network's weights and arithmetic.
    warm_start : bool, default=False
        ``fit`` continues from the current weights instead of starting again.
    backend : {"auto", "numpy", "torch"}, default="auto"
        ``"auto"`` trains on the input's library (PyTorch tensors, or a ``device``, train in
        PyTorch).
    device : str, optional
        PyTorch device (``"cuda"``, ``"cpu"``); setting it trains in PyTorch. By default the input
        tensor's device.
""" + PRETRAIN_PARAM_DOC.lstrip("\n")

ATTR_DOC = """
    network_ : Network
        The trained network (its arrays are live: ``coefs_`` and ``intercepts_`` are views of it).
    coefs_ : list of arrays
        ``coefs_[l]`` of shape (n_in_l, n_out_l).
    intercepts_ : list of arrays
        ``intercepts_[l]`` of shape (n_out_l,).
    history_ : History
        The engine's per-epoch record (loss, accuracy, gradient norm per layer, time, ...).
    loss_curve_ : list of float
        Training loss per epoch (without the L2 penalty).
    validation_scores_ : list of float or None
        Validation accuracy (classifier) or R^2 (regressor) per epoch with ``early_stopping``.
    n_iter_ : int
        Epochs run, over all ``fit``/``partial_fit`` calls that continued the network.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    n_outputs_ : int
        Units of the output layer.
    out_activation_ : str
        The output layer's activation.
""" + PRETRAIN_ATTR_DOC.lstrip("\n")
