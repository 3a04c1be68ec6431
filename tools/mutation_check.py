"""Mutation check: does the test suite notice when the hot paths are broken?

Each mutant is one small, named change to the code that adjusts weights (a sign flipped, a term
dropped, an option ignored). For every mutant this script copies ``src/`` to a scratch folder,
applies the change there (the working tree is never touched), runs the chosen test files against
the copy (``PYTHONPATH`` puts it first), and records whether some test failed: a mutant the tests
miss is a hole in the evidence.

Usage::

    python tools/mutation_check.py                 # every mutant, the default test files
    python tools/mutation_check.py --list          # the mutants and where they apply
    python tools/mutation_check.py --only rbm-weight-cost-sign-fused adam-no-bias-correction
    python tools/mutation_check.py --tests tests/test_rbm.py

It first runs the tests on the unmutated copy: they must pass, or no verdict means anything. Exit
status 0 when every mutant is caught. Not part of CI (a few minutes per mutant on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The tests that guard the hot paths: references, oracles, and the learners' own tests.
DEFAULT_TESTS = (
    "tests/test_optimizer_reference.py",
    "tests/test_alpha.py",
    "tests/test_reference_rbm.py",
    "tests/test_reference_autoencoder.py",
    "tests/test_gradients.py",
    "tests/test_training.py",
    "tests/test_rbm.py",
    "tests/test_autoencoder.py",
    "tests/test_torch_oracle.py",
    "tests/test_layer_loop.py",
    "tests/test_kernels.py",
    "tests/test_health.py",
)


@dataclass(frozen=True)
class Mutant:
    """Replace ``old`` (which must occur exactly once) by ``new`` in ``path`` (under src/weightwise)."""

    name: str
    path: str
    old: str
    new: str
    what: str


MUTANTS = (
    # --- back to front: the optimisers -------------------------------------------------------
    Mutant(
        "sgd-momentum-ignored",
        "backpropagation/optimizers.py",
        "            scal(mu, v)\n",
        "            scal(0.0, v)\n",
        "SGD's velocity forgets its past (mu treated as 0) on the plain path",
    ),
    Mutant(
        "sgd-fused-momentum-ignored",
        "backpropagation/optimizers.py",
        "outer_update(1.0, a, d, mu, v)",
        "outer_update(1.0, a, d, 0.0, v)",
        "the fused gemm drops mu * v (beta = 0)",
    ),
    Mutant(
        "l2-dropped-factored-momentum",
        "backpropagation/optimizers.py",
        "                    axpy(lam, W, v)\n",
        "                    pass\n",
        "weight decay skipped by the fused step with momentum (issue 9's alpha finding)",
    ),
    Mutant(
        "l2-dropped-factored-plain",
        "backpropagation/optimizers.py",
        "scal(1.0 - eta * lam, W)",
        "scal(1.0, W)",
        "weight decay skipped by the fused step without momentum",
    ),
    Mutant(
        "l2-biases-decayed",
        "backpropagation/optimizers.py",
        "return self.decay_bias or p.ndim >= 2",
        "return True",
        "decay_bias=False ignored: scikit-learn's alpha decays the biases too",
    ),
    Mutant(
        "nesterov-lookahead-off",
        "backpropagation/optimizers.py",
        "axpy(-eta * mu, v, p)",
        "axpy(0.0 * mu, v, p)",
        "Nesterov's look-ahead term mu * v is not applied",
    ),
    Mutant(
        "adam-no-bias-correction",
        "backpropagation/optimizers.py",
        "step = self.learning_rate / (1.0 - b1**t)",
        "step = self.learning_rate",
        "Adam without the first-moment bias correction",
    ),
    Mutant(
        "bp-bias-gradient-dropped",
        "backpropagation/gradients.py",
        "db[l] = xp.sum(delta, axis=0)",
        "db[l] = 0.0 * xp.sum(delta, axis=0)",
        "back-propagation returns zero bias gradients",
    ),
    Mutant(
        "bp-delta-skips-activation",
        "backpropagation/gradients.py",
        "delta = below.activation.backward_(fwd.zs[l - 1], a_in, delta @ net.layers[l].W.T)",
        "delta = delta @ net.layers[l].W.T",
        "the error is pushed back without the activation's derivative",
    ),
    # --- front to back: the RBM's CD-k update --------------------------------------------------
    Mutant(
        "rbm-weight-cost-sign-fused",
        "layerwise/rbm_base.py",
        "axpy(-lr * self.weight_cost, self.W, self._inc_W)",
        "axpy(lr * self.weight_cost, self.W, self._inc_W)",
        "weight cost pushes W away from 0 (fused NumPy path)",
    ),
    Mutant(
        "rbm-weight-cost-sign-general",
        "layerwise/rbm_base.py",
        "            self._inc_W -= G\n",
        "            self._inc_W += G\n",
        "weight cost pushes W away from 0 (general path: PyTorch, sparsity)",
    ),
    Mutant(
        "rbm-cd-k-ignored",
        "layerwise/rbm_base.py",
        "for step in range(self.cd_k):",
        "for step in range(1):",
        "one Gibbs step whatever cd_k says",
    ),
    Mutant(
        "rbm-momentum-ignored",
        "layerwise/rbm_base.py",
        "outer_update(1.0, V_in, B.H, mu, self._inc_W)",
        "outer_update(1.0, V_in, B.H, 0.0, self._inc_W)",
        "the RBM's weight increment forgets its past (fused path)",
    ),
    Mutant(
        "rbm-hidden-bias-gradient-dropped",
        "layerwise/rbm_base.py",
        "self._inc_bh += (lr / n) * grad_bh",
        "self._inc_bh += 0.0 * grad_bh",
        "hidden biases never learn",
    ),
    Mutant(
        "rbm-sparsity-sign",
        "layerwise/rbm_base.py",
        "(self.sparsity_target - self._q)",
        "(self._q - self.sparsity_target)",
        "the sparsity penalty pushes activity away from its target",
    ),
    Mutant(
        "pcd-chains-reset-per-batch",
        "layerwise/rbm_base.py",
        "if self._chain is None or self._chain.shape[0] < n:",
        "if True:",
        "persistent chains restart every batch (PCD silently becomes CD from noise)",
    ),
    Mutant(
        "rbm-last-step-samples",
        "layerwise/rbm_base.py",
        "if use_samples or step < self.cd_k - 1:",
        "if True:",
        "the last Bernoulli visible step carries samples instead of probabilities",
    ),
    Mutant(
        "gaussian-variance-scaling-dropped",
        "layerwise/rbm.py",
        "        if not self._unit_variance:\n            out *= self.sigma\n",
        "",
        "Gaussian visible means ignore sigma (E[v | h] = b + h W')",
    ),
    Mutant(
        "gaussian-log-variance-sign",
        "layerwise/rbm.py",
        "self._inc_z += scale * extra",
        "self._inc_z -= scale * extra",
        "learned variances climb the free energy instead of descending it",
    ),
    # --- front to back: the auto-encoder -------------------------------------------------------
    Mutant(
        "rbm-learning-rate-schedule-ignored",
        "layerwise/rbm_base.py",
        "return self.learning_rate * self.schedule.factor(self.n_epochs_)",
        "return self.learning_rate",
        "the RBM's learning-rate schedule is ignored",
    ),
    Mutant(
        "ae-corruption-off",
        "layerwise/autoencoder.py",
        "self.gradients(V, self.corrupt(V))",
        "self.gradients(V, V)",
        "the denoising auto-encoder sees clean input",
    ),
    Mutant(
        "ae-untied-decoder",
        "layerwise/autoencoder.py",
        "dW = x_in.T @ delta_h + delta_v.T @ h",
        "dW = x_in.T @ delta_h",
        "the decoder's half of the tied-weight gradient is dropped",
    ),
    Mutant(
        "ae-visible-bias-gradient-dropped",
        "layerwise/autoencoder.py",
        "return dW, xp.sum(delta_h, axis=0), xp.sum(delta_v, axis=0), loss",
        "return dW, xp.sum(delta_h, axis=0), 0.0 * xp.sum(delta_v, axis=0), loss",
        "the decoder bias never learns",
    ),
)


def apply(mutant: Mutant, src: Path) -> None:
    path = src / "weightwise" / mutant.path
    text = path.read_text()
    count = text.count(mutant.old)
    if count != 1:
        raise SystemExit(
            f"mutant {mutant.name}: expected the text once in {mutant.path}, found it {count} times "
            "(the code moved: update the mutant)"
        )
    path.write_text(text.replace(mutant.old, mutant.new))


def run_tests(root: Path, src: Path, tests: list[str], stop_early: bool) -> tuple[bool, str, float]:
    """(passed, last lines of output, seconds) of pytest on ``tests`` (under ``root``, a snapshot of
    the repository) with ``src`` first on the path."""
    env = dict(os.environ, PYTHONPATH=str(src), PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
    if stop_early:
        cmd.append("-x")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd + tests, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    summary = (failed[:1] or []) + lines[-1:]
    return proc.returncode == 0, " | ".join(summary), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these mutants only")
    parser.add_argument("--tests", nargs="+", default=list(DEFAULT_TESTS), help="test files to run")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args()
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.only and len(mutants) != len(args.only):
        known = {m.name for m in MUTANTS}
        raise SystemExit(f"unknown mutants: {sorted(set(args.only) - known)}")
    if args.list:
        for m in mutants:
            print(f"{m.name:36s} {m.path:28s} {m.what}")
        return 0
    tests = [t for t in args.tests if (ROOT / t).exists()]
    missing = sorted(set(args.tests) - set(tests))
    if missing:
        print(f"(test files not found, skipped: {', '.join(missing)})")

    with tempfile.TemporaryDirectory(prefix="weightwise-mutants-") as scratch:
        # A snapshot of the tests and the code, so that editing the working tree meanwhile changes
        # nothing here.
        root = Path(scratch) / "repo"
        skip = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis")
        shutil.copytree(ROOT / "tests", root / "tests", ignore=skip)
        shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
        clean = Path(scratch) / "clean"
        shutil.copytree(ROOT / "src", clean, ignore=skip)
        ok, summary, seconds = run_tests(root, clean, tests, stop_early=False)
        print(f"baseline (no mutant): {'pass' if ok else 'FAIL'} in {seconds:.0f} s  [{summary}]")
        if not ok:
            print("the tests fail without any mutant: fix them first")
            return 2
        rows = []
        for m in mutants:
            work = Path(scratch) / m.name
            shutil.copytree(clean, work)
            apply(m, work)
            passed, summary, seconds = run_tests(root, work, tests, stop_early=True)
            verdict = "SURVIVED" if passed else "caught"
            rows.append((m, verdict, summary))
            print(f"{verdict:8s} {m.name:36s} {seconds:5.0f} s  {summary}", flush=True)
            shutil.rmtree(work)

    print("\n| mutant | where | what it breaks | verdict | first failing test |")
    print("|---|---|---|---|---|")
    for m, verdict, summary in rows:
        first = summary.split(" | ")[0] if verdict == "caught" else ""
        first = first.removeprefix("FAILED ").removeprefix("ERROR ").split(" - ")[0]
        print(f"| {m.name} | {m.path} | {m.what} | {verdict} | {first} |")
    survived = [m.name for m, verdict, _ in rows if verdict == "SURVIVED"]
    print(
        f"\n{len(rows) - len(survived)} of {len(rows)} mutants caught"
        + (f"; survived: {', '.join(survived)}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
