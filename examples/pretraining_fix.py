"""Pre-training as the fix: fill the layers front to back first, then fine-tune by BP.

Hinton, Osindero and Teh (2006) and Bengio et al. (2007) went around the vanishing gradient: train
the first hidden layer alone as an unsupervised model of the data (an RBM, or a denoising
auto-encoder), push the data through it, train the second layer on that, and so on up. Each layer
then starts from weights that already describe its input, and back-propagation only has to
fine-tune them. In weightwise the learners share the network's own ``W`` and ``b`` arrays
(:func:`weightwise.layerwise.greedy.pretrain`), so fine-tuning adjusts the very weights pre-training
left.

On the built-in digits (1,347 training and 450 test images, 8x8), one deep sigmoid network
64-64-64-64-64-64-10 (5 hidden layers, softmax output, cross-entropy) is trained four ways, with
the same BP fine-tuning each time (SGD, momentum 0.9, learning rate 0.05, batches of 32):

- plain BP from the textbook's N(0, 1) weights;
- plain BP from the small "standard" weights ``U(+-1/sqrt(n_in))``, where the gradient of layer 1
  is about 1/3000 of the last hidden layer's (``examples/vanishing_gradients.py``);
- RBM pre-training (CD-1) of the 5 hidden layers, then BP;
- denoising auto-encoder pre-training (25% masking noise), then BP.

Both pre-trained networks start from the same small "standard" weights as the second plain-BP
run, so the only difference from it is the pre-training.

Run ``python examples/pretraining_fix.py`` (``--quick`` for one seed and fewer epochs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import weightwise as ww
from weightwise.datasets import load_digits
from weightwise.layerwise.greedy import pretrain

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import figure  # noqa: E402

METHODS = {
    "bp_normal": "plain BP, N(0, 1) init",
    "bp_standard": "plain BP, U(+-1/sqrt(n)) init",
    "rbm": "RBM pre-training + BP",
    "denoising": "denoising AE pre-training + BP",
}


def train_one(
    method: str,
    seed: int,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    depth: int,
    width: int,
    pretrain_epochs: int,
    epochs: int,
) -> tuple[float, list[float], float]:
    """Train one network one way.

    Returns
    -------
    accuracy : float
        Test accuracy after fine-tuning.
    curve : list of float, length ``epochs + 1``
        Test accuracy before fine-tuning and after each fine-tuning epoch (monitoring only: no
        early stopping, nothing is chosen on the test set).
    seconds : float
        Wall time of pre-training plus fine-tuning.
    """
    X_train, X_test, y_train, y_test = data
    Y_train, Y_test = np.eye(10, dtype=np.float32)[y_train], np.eye(10, dtype=np.float32)[y_test]
    init = "normal" if method == "bp_normal" else "standard"
    net = ww.Network.create([64] + [width] * depth + [10], "sigmoid", "softmax", init, seed=seed)
    t0 = time.perf_counter()
    if method in ("rbm", "denoising"):
        # Front to back: layer k learns to model the (mean) activations of layer k - 1.
        pretrain(net, X_train, method, epochs=pretrain_epochs, batch_size=20, seed=seed)
    before = float(np.mean(np.asarray(net.predict(X_test)).argmax(axis=1) == y_test))
    history = ww.fit(
        net,
        X_train,
        Y_train,
        loss="cross_entropy",
        optimizer=ww.SGD(0.05, momentum=0.9),
        epochs=epochs,
        batch_size=32,
        seed=seed,
        validation_data=(X_test, Y_test),
        record_grad_norm=False,
    )
    seconds = time.perf_counter() - t0
    accuracy = float(np.mean(np.asarray(net.predict(X_test)).argmax(axis=1) == y_test))
    return accuracy, [before] + [float(v) for v in history.val_metric], seconds


def spread(init: str, seed: int, X: np.ndarray, depth: int, width: int) -> list[float]:
    """How much each hidden layer's output varies from image to image in a fresh network.

    Returns
    -------
    list of float, length ``depth``
        Per hidden layer, the mean over units of the standard deviation over the images. Near 0,
        every image looks the same to the layers above: nothing is left for BP to work with.
    """
    net = ww.Network.create([64] + [width] * depth + [10], "sigmoid", "softmax", init, seed=seed)
    return [float(np.mean(np.std(a, axis=0))) for a in net.forward(X).activations[1:-1]]


def plot(curves: dict[str, list[float]], path: str) -> None:
    """Test accuracy against fine-tuning epochs (0: before BP), one line per method (seed 0)."""
    with figure(path) as ax:
        for method, curve in curves.items():
            ax.plot(np.arange(len(curve)), curve, label=METHODS[method])
        ax.set_xlabel("BP fine-tuning epochs done")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1)
        ax.set_title("Digits, 5 sigmoid hidden layers of 64")
        ax.legend(fontsize=8, loc="center right")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the example, print what it found and return the key numbers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one seed, 5 pre-training and 10 BP epochs")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--depth", type=int, default=5, help="hidden layers")
    p.add_argument("--width", type=int, default=64, help="units per hidden layer")
    p.add_argument("--pretrain-epochs", type=int, default=10, help="per layer")
    p.add_argument("--epochs", type=int, default=30, help="BP (fine-tuning) epochs")
    p.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma-separated, of {', '.join(METHODS)}"
    )
    p.add_argument("--plot", metavar="PNG", help="save the test-accuracy curves here")
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",")]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        p.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    if args.quick:
        args.seeds, args.pretrain_epochs, args.epochs = 1, 5, 10
    data = load_digits()
    print(
        f"digits: {len(data[0])} training, {len(data[1])} test images; 64-{args.width}x{args.depth}-10 "
        f"sigmoid; {args.pretrain_epochs} pre-training epochs per layer, {args.epochs} BP epochs"
    )
    spreads = {init: spread(init, 0, data[0], args.depth, args.width) for init in ("normal", "standard")}
    for init, label in (("normal", "N(0, 1)"), ("standard", "U(+-1/sqrt(n))")):
        print(
            f"spread of each hidden layer's outputs over the images at the start, {label} init: "
            + " ".join(f"{v:.1e}" for v in spreads[init])
        )
    print(f"{'method':<32} {'test accuracy per seed':<24} {'mean':>6} {'seconds':>8}")
    accuracy: dict[str, float] = {}
    curves: dict[str, list[float]] = {}
    for method in methods:
        label = METHODS[method]
        runs = [
            train_one(method, s, data, args.depth, args.width, args.pretrain_epochs, args.epochs)
            for s in range(args.seeds)
        ]
        accs = [r[0] for r in runs]
        accuracy[method] = float(np.mean(accs))
        curves[method] = runs[0][1]
        print(
            f"{label:<32} {' '.join(f'{a:.3f}' for a in accs):<24} {accuracy[method]:>6.3f} "
            f"{np.mean([r[2] for r in runs]):>8.1f}"
        )
    marks = [e for e in (0, 1, 2, 5, 10, 20, 30) if e <= args.epochs]
    print("\nseed 0, test accuracy after this many BP epochs: " + " ".join(f"{e:>5}" for e in marks))
    for method, curve in curves.items():
        print(f"  {METHODS[method]:<46} " + " ".join(f"{curve[e]:>5.3f}" for e in marks))
    if args.plot:
        plot(curves, args.plot)
        print(f"figure: {args.plot}")
    return {"accuracy": accuracy, "curves": curves, "spread": spreads}


if __name__ == "__main__":
    main()
