"""MNIST with the DBN's 784-500-500-2000-10 sigmoid network trained by BP from random weights.

The side-by-side for ``mnist_dbn.py``: the same shape, the same fine-tuning (cross-entropy on a
softmax output, the same optimiser, mini-batches of 100, early stopping on the last 10,000
training images), but no pre-training; the weights start from Glorot and Bengio's uniform
initialisation (``xavier_uniform``), a kinder start for deep sigmoid nets than the small normal
weights the RBMs begin from.

Published: 1.6% (Hinton & Salakhutdinov 2006, the same shape trained by BP alone).

Run::

    python examples/mnist_bp_baseline.py --quick --out /tmp/repro/bp_quick
    nohup nice -n 5 python examples/mnist_bp_baseline.py --out /tmp/repro/bp > /tmp/repro_bp.log 2>&1 &
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

SIZES = [784, 500, 500, 2000, 10]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = c.parser(__doc__.splitlines()[0], pretrain_epochs=0, finetune_epochs=30, out="/tmp/repro/bp")
    c.add_finetune_options(p, learning_rate=1e-3)
    args = p.parse_args(argv)
    if args.quick:
        args.finetune_epochs = min(args.finetune_epochs, 3)

    from weightwise.net.network import Network

    def build() -> Any:
        return Network.create(
            SIZES, "sigmoid", output_activation="softmax", init="xavier_uniform", seed=args.seed
        )

    title = f"BP from random weights {'-'.join(map(str, SIZES))}"
    return c.run(args, "mnist_bp_baseline.py", title, build, None)


if __name__ == "__main__":
    main()
