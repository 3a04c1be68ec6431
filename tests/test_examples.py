"""The tutorial's example scripts run (``--quick``) and still show what the tutorial says they show.

Each script's ``main(argv)`` prints its numbers and returns the key ones; the checks are loose on
purpose (the claims, not the digits), so they hold across seeds and platforms but fail if a script
or the library stops showing the effect.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small matrices: one BLAS thread is faster than two fighting for a shared machine's cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def test_weight_loss_neuron_finds_the_true_weights(capsys, tmp_path):
    ex = load("weight_loss_neuron")
    out = ex.main(["--quick", "--plot", str(tmp_path / "w.png")])
    # backprop on a 2-1 linear network *is* the delta rule
    assert out["max_rule_gap"] < 1e-10
    np.testing.assert_allclose(out["w"], ex.TRUE_W, atol=0.05)
    assert abs(out["b"] - ex.TRUE_B) < 0.05
    losses = [row[-1] for row in out["trace"]]
    assert losses[-1] < 0.05 * losses[0]
    assert (tmp_path / "w.png").stat().st_size > 1000
    assert "largest weight error" in capsys.readouterr().out


def test_delta_rule_matches_a_hand_worked_step():
    ex = load("weight_loss_neuron")
    # Two weeks: x = (2, 1) lost 1.0 kg, x = (0, 4) lost 2.0 kg; the neuron guessed 0.5 and 1.0.
    X = np.array([[2.0, 1.0], [0.0, 4.0]])
    y = np.array([[1.0], [2.0]])
    a = np.array([[0.5], [1.0]])
    dW, db = ex.delta_rule(X, y, a)
    # gaps a - y = (-0.5, -1.0): dW = ((2 * -0.5 + 0 * -1) / 2, (1 * -0.5 + 4 * -1) / 2)
    np.testing.assert_allclose(dW.ravel(), [-0.5, -2.25])
    np.testing.assert_allclose(db, [-0.75])


def test_xor_textbook_solves_and_shows_a_local_minimum(capsys):
    ex = load("xor_textbook")
    out = ex.main(["--quick"])
    first = out["first"]
    assert first.solved
    np.testing.assert_array_equal(first.outputs > 0.5, [False, True, True, False])
    assert out["n_solved"] == out["n_seeds"] == 1
    # the plateau: the loss falls from about 0.5 (every output near 0.5) only after hundreds of epochs
    assert out["slowest_loss"][500] > 0.3 > 0.05 > out["slowest_loss"][-1]
    # 2-2-1 from seeds 0-6: seed 6 settles where the gradient is ~0 but two outputs sit near 0.5
    assert 6 in out["stuck_seeds"]
    assert out["minimal_solved"] >= 4
    for loss, norm in zip(out["stuck_losses"], out["stuck_gradient_norms"], strict=True):
        assert loss > 0.2 and norm < 0.05
    assert out["rescued"] == [False]
    assert "seed 6 stuck" in capsys.readouterr().out


def test_vanishing_gradients_in_deep_sigmoid_nets(capsys):
    ex = load("vanishing_gradients")
    out = ex.main(["--quick"])
    deep, ratios = out["deep"], out["ratios"]
    # the textbook's N(0, 1) weights: layer 1 gets well under a tenth of the last hidden layer's share
    assert ratios["normal"][deep] < 0.1
    # the small "standard" weights: it vanishes much faster, and faster with depth
    assert ratios["standard"][deep] < 1e-3
    assert ratios["standard"][deep] < ratios["standard"][5] < ratios["standard"][2]
    # sigma' <= 1/4 everywhere
    for slopes in out["slopes"].values():
        assert np.all(slopes <= 0.25)
    # and so BP moves the first layer of the deep net less than that of the shallow one
    assert out["moves"][deep][0] < out["moves"][2][0]
    assert "layer 1 receives 1/" in capsys.readouterr().out


def test_relu_he_keeps_the_gradient_level(capsys, tmp_path):
    ex = load("relu_he")
    out = ex.main(["--quick", "--plot", str(tmp_path / "r.png")])
    ratios = out["ratios"]
    deep = max(ratios["ReLU, He"])
    assert ratios["ReLU, He"][deep] > 0.1
    assert ratios["tanh, Xavier"][deep] > 0.1
    assert ratios["sigmoid, Xavier"][deep] < 0.01
    assert out["accuracy"] > 0.85
    assert all(math.isfinite(v) for n in out["deep_norms"].values() for v in n)
    assert (tmp_path / "r.png").stat().st_size > 1000
    capsys.readouterr()


def test_pretraining_fixes_the_stuck_deep_sigmoid_net(capsys):
    ex = load("pretraining_fix")
    out = ex.main(["--quick"])
    acc = out["accuracy"]
    # from the small weights the gradient vanishes and plain BP stays at chance level ...
    assert acc["bp_standard"] < 0.3
    # ... while either kind of pre-training gives a network BP can fine-tune
    assert acc["rbm"] > 0.85
    assert acc["denoising"] > 0.85
    assert acc["rbm"] > acc["bp_standard"] + 0.5
    assert "RBM pre-training + BP" in capsys.readouterr().out


NUMBER = re.compile(r"-?\d[\d,]*\.?\d*(?:e[-+]?\d+)?")


def numbers(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in NUMBER.findall(text)]


def test_tutorial_code_blocks_run_and_print_what_the_tutorial_shows(capsys):
    """Run docs/tutorial.md's Python blocks in order, in one namespace, like a reader would.

    A block that prints is followed in the tutorial by a plain block with its output; the words must
    match and the numbers agree loosely (1%, or 0.02 for an accuracy), so a changed library shows.
    """
    text = (EXAMPLES.parent / "docs" / "tutorial.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)
    namespace: dict[str, object] = {}
    checked = 0
    for i, (lang, body) in enumerate(blocks):
        if lang != "python":
            continue
        capsys.readouterr()
        exec(compile(body, f"tutorial.md block {i}", "exec"), namespace)
        printed = capsys.readouterr().out
        if not printed:
            continue
        lang_next, shown = blocks[i + 1]
        assert lang_next == "", f"block {i} prints but no output block follows it"
        assert NUMBER.sub("#", printed).split() == NUMBER.sub("#", shown).split()
        np.testing.assert_allclose(numbers(printed), numbers(shown), rtol=0.01, atol=0.02)
        checked += 1
    assert checked >= 4
