"""MNIST with a stacked denoising auto-encoder SdA-3 (3 x 1000 hidden units), then BP fine-tuning.

Vincent, Larochelle, Lajoie, Bengio and Manzagol (2010): each hidden layer is a denoising
auto-encoder with tied weights, trained to reconstruct its clean input from a copy in which a
fraction of the components (the corruption level) was set to zero, with the cross-entropy loss of a
sigmoid decoder; layer ``k`` trains on the mean activations of the layers below, first layer first,
by ``weightwise.pretrain`` (50 epochs per layer by default: 10 gave 1.35% here, 25 gave 1.30-1.31%).
A softmax layer is then put on top, trained alone for 6 epochs (``--top-first``), and
back-propagation fine-tunes the whole 784-1000-1000-1000-10 net with cross-entropy (Adam, learning
rate 1e-3 times 0.9 per epoch, 30 epochs) on the first 50,000 training images, validated on the last
10,000; ``--retrain-full`` then fine-tunes again on all 60,000. Measured here: 1.21% test error with
``--retrain-full``.

Published: 1.28% test error (Vincent et al. 2010, Table 3, SdA-3).

Run::

    python examples/mnist_sda.py --quick --out /tmp/repro/sda_quick
    nohup nice -n 5 python examples/mnist_sda.py --retrain-full --out /tmp/repro/sda > sda.log 2>&1 &

Interrupt it at any time; the same command resumes from the checkpoints under ``--out``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

SIZES = [784, 1000, 1000, 1000, 10]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = c.parser(__doc__.splitlines()[0], pretrain_epochs=50, finetune_epochs=30, out="/tmp/repro/sda")
    p.add_argument(
        "--corruption",
        type=float,
        nargs="+",
        default=[0.1, 0.2, 0.3],
        help="masking level per layer (one value for all, or three)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=0.01,
        help="auto-encoder SGD learning rate (momentum 0.9, so about 0.1 per unit of gradient)",
    )
    c.add_finetune_options(p, learning_rate=1e-3)
    p.set_defaults(top_first=6)  # as for the DBN; measured here it neither helps nor hurts the SdA
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.finetune_epochs = min(args.epochs, 2), min(args.finetune_epochs, 3)
    corruption = args.corruption * 3 if len(args.corruption) == 1 else args.corruption
    if len(corruption) != 3:
        p.error(f"--corruption takes one level or three, got {len(corruption)}")

    from weightwise.net.network import Network

    def build() -> Any:
        return Network.create(
            SIZES, "sigmoid", output_activation="softmax", init="xavier_uniform", seed=args.seed
        )

    params = [
        dict(
            corruption=level,
            noise="mask",
            loss="cross_entropy",
            learning_rate=args.lr,
            momentum=0.9,
            batch_size=100,
        )
        for level in corruption
    ]
    title = f"SdA-3 {'-'.join(map(str, SIZES))}, masking {corruption}"
    return c.run(args, "mnist_sda.py", title, build, "denoising", params)


if __name__ == "__main__":
    main()
