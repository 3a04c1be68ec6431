"""Property tests: shapes and dtypes are preserved, and inputs are never modified."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weightwise import Network, Random, backprop, fit

ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")
PAIRS = [("squared_error", act) for act in (*ELEMENTWISE, "softmax")] + [
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    """A random network (1 to 4 layers, widths 1 to 5), data, loss and dtype."""
    sizes = draw(st.lists(st.integers(1, 5), min_size=2, max_size=5))
    loss, output = draw(st.sampled_from(PAIRS))
    hidden = [draw(st.sampled_from(ELEMENTWISE)) for _ in sizes[2:]]
    dtype = draw(st.sampled_from(["float32", "float64"]))
    n = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    k = sizes[-1]
    if output == "softmax":
        Y = np.eye(k, dtype=dtype)[rng.integers(0, k, size=n)]
    else:
        Y = rng.uniform(0, 1, size=(n, k)).astype(dtype)
    net = Network.create(sizes, hidden, output, "xavier_uniform", Random(seed), dtype)
    return {"net": net, "X": X, "Y": Y, "loss": loss, "dtype": np.dtype(dtype)}


@SETTINGS
@given(problems(), st.sampled_from(["sum", "mean"]))
def test_forward_and_backprop_keep_shapes_and_dtypes(p: dict[str, Any], reduction: str) -> None:
    net, X, Y, dtype = p["net"], p["X"], p["Y"], p["dtype"]
    n = X.shape[0]
    fwd = net.forward(X)
    assert len(fwd.zs) == len(net.layers) and len(fwd.activations) == len(net.layers) + 1
    for l, layer in enumerate(net.layers):
        assert fwd.zs[l].shape == fwd.activations[l + 1].shape == (n, layer.n_out)
        assert fwd.zs[l].dtype == fwd.activations[l + 1].dtype == dtype
    assert net.predict(X).shape == (n, net.sizes[-1]) and net.predict(X).dtype == dtype

    g = backprop(net, X, Y, p["loss"], reduction)
    for layer, dW, db, delta in zip(net.layers, g.dW, g.db, g.deltas, strict=True):
        assert (
            dW.shape == layer.W.shape and db.shape == layer.b.shape and delta.shape == (n, layer.n_out)
        )
        assert dW.dtype == db.dtype == delta.dtype == dtype
    assert g.loss.shape == () and g.loss.dtype == dtype
    for param in net.parameters():
        assert param.dtype == dtype


@SETTINGS
@given(problems(), st.sampled_from([None, 2, 3]), st.sampled_from(["sgd", "adam"]))
def test_inputs_are_never_modified(p: dict[str, Any], batch_size: int | None, optimizer: str) -> None:
    net, X, Y = p["net"], p["X"], p["Y"]
    X0, Y0 = X.copy(), Y.copy()
    net.forward(X)
    net.predict(X)
    backprop(net, X, Y, p["loss"])
    fit(
        net,
        X,
        Y,
        loss=p["loss"],
        optimizer=optimizer,
        epochs=2,
        batch_size=batch_size,
        seed=0,
        validation_data=(X, Y),
        patience=1,
    )
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    assert X.dtype == X0.dtype and Y.dtype == Y0.dtype
    # fit keeps the network's dtype whatever it trains on
    assert all(param.dtype == p["dtype"] for param in net.parameters())


@SETTINGS
@given(problems())
def test_data_of_another_dtype_is_not_modified_and_the_net_keeps_its_dtype(p: dict[str, Any]) -> None:
    net, X, Y = p["net"], p["X"], p["Y"]
    other = np.float64 if p["dtype"] == np.float32 else np.float32
    Xo, Yo = X.astype(other), Y.astype(other)
    X0, Y0 = Xo.copy(), Yo.copy()
    fit(net, Xo, Yo, loss=p["loss"], epochs=2, batch_size=2, seed=1)
    np.testing.assert_array_equal(Xo, X0)
    np.testing.assert_array_equal(Yo, Y0)
    assert all(param.dtype == p["dtype"] for param in net.parameters())


# The fixture only pins torch to one thread, which holds for every example alike.
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=problems())
def test_torch_inputs_are_never_modified_and_dtypes_kept(
    p: dict[str, Any], torch_one_thread: Any
) -> None:
    torch = torch_one_thread
    net = p["net"].to("torch")
    X, Y = torch.from_numpy(p["X"]), torch.from_numpy(p["Y"])
    X0, Y0 = X.clone(), Y.clone()
    g = backprop(net, X, Y, p["loss"])
    assert all(d.dtype == X.dtype for d in g.as_list())
    fit(net, X, Y, loss=p["loss"], optimizer="adam", epochs=2, batch_size=3, seed=0)
    assert torch.equal(X, X0) and torch.equal(Y, Y0)
    assert all(param.dtype == X.dtype for param in net.parameters())
