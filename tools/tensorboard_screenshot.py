"""Redo the README's TensorBoard screenshot: per-layer gradient norms, plain BP against RBM pre-training.

Trains one deep sigmoid net on the built-in digits twice with ``weightwise train --tensorboard``,
once by plain back-propagation and once after greedy RBM pre-training (same net, optimiser, seed
and epochs), starts ``tensorboard --logdir`` on both logs, and takes a screenshot of the Scalars
page filtered to the ``gradient_norm`` tags in headless Chromium.

    python tools/tensorboard_screenshot.py                      # docs/images/tensorboard_gradients.png
    python tools/tensorboard_screenshot.py --chromium /usr/bin/chromium --out shot.png

Needs the interop extra (tensorboardX, tensorboard) and a Chromium or Chrome binary.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from headless_chromium import find_chromium, run_chromium

ROOT = Path(__file__).resolve().parent.parent

NET = ["--data", "digits", "--layers", "64-100-100-100-100-10", "--activation", "sigmoid"]
"""Four sigmoid hidden layers of 100: deep enough for the gradient to vanish under plain BP."""
FIT = ["--init", "standard", "--solver", "sgd", "--lr", "0.1", "--momentum", "0.9"]
FIT += ["--batch-size", "32", "--tol", "0", "--patience", "1000", "--seed", "0", "--no-progress"]
RUNS = {"bp": [], "rbm": ["--pretrain", "rbm", "--pretrain-epochs", "10"]}
"""Run name (its log subfolder, and its name in TensorBoard) -> the options it adds."""

PAGE = "?darkMode=false#scalars&tagFilter=gradient_norm&_smoothingWeight=0"


def train(logdir: Path, epochs: int) -> None:
    """One ``weightwise train`` per entry of :data:`RUNS`, each logging to ``logdir/<name>``."""
    weightwise = [sys.executable, "-m", "weightwise.cli"]
    for name, extra in RUNS.items():
        model = logdir / f"{name}.safetensors"
        cmd = [*weightwise, "train", *NET, *FIT, "--epochs", str(epochs), *extra]
        cmd += ["--out", str(model), "--tensorboard", str(logdir / name)]
        print("+", " ".join(cmd[2:]), flush=True)
        subprocess.run(cmd, check=True)
        model.unlink()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(logdir: Path, port: int) -> subprocess.Popen[bytes]:
    """``tensorboard --logdir`` in the background, once it answers.

    Started in the log folder's parent with its bare name, which is what the page shows.
    """
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", logdir.name]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        cmd, cwd=logdir.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=2) as r:
                if len(r.read()) > 2:  # the runs are loaded, not just the server up
                    return server
        except OSError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise SystemExit("tensorboard did not start within a minute")


def screenshot(chromium: str, url: str, out: Path, size: str, budget_ms: int) -> None:
    """Headless Chromium's screenshot of ``url`` after ``budget_ms`` of virtual time."""
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = run_chromium(
        chromium, f"--screenshot={out}", f"--virtual-time-budget={budget_ms}", url, window=size
    )
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"{chromium} wrote no screenshot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/images/tensorboard_gradients.png")
    parser.add_argument("--logdir", type=Path, help="Keep the logs here (default: a temporary folder).")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--chromium", default=find_chromium())
    parser.add_argument("--window-size", default="1280,1060", help="WIDTH,HEIGHT of the page.")
    parser.add_argument("--budget-ms", type=int, default=15000, help="Virtual time to render the page.")
    args = parser.parse_args()
    if not args.chromium:
        raise SystemExit("no Chromium found: install it (apt-get install chromium) or pass --chromium")
    with tempfile.TemporaryDirectory() as tmp:
        logdir = args.logdir or Path(tmp) / "logs"
        train(logdir, args.epochs)
        port = free_port()
        server = serve(logdir, port)
        try:
            screenshot(
                args.chromium,
                f"http://127.0.0.1:{port}/{PAGE}",
                args.out,
                args.window_size,
                args.budget_ms,
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"screenshot written to {args.out}")


if __name__ == "__main__":
    main()
