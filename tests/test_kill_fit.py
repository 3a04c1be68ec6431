"""``kill -9`` a ``fit`` with a ``checkpoint_dir`` at random points, pre-training and the model
save included; run it again until it finishes: the model file must hold bit for bit the weights of
an uninterrupted run, and no run may be lost.

Each run is a subprocess that pre-trains (RBM), back-propagates, then saves, keeping its backup
until the model file is on disk (``_keep_checkpoint_until_saved``, what ``weightwise train``
does). ``WEIGHTWISE_KILL_ROUNDS`` raises the number of killed runs (default 6) for a longer soak.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

from weightwise.estimators import BPClassifier

ROUNDS = int(os.environ.get("WEIGHTWISE_KILL_ROUNDS", "6"))

SETTINGS = dict(
    hidden_layer_sizes=(8, 6),
    activation="sigmoid",
    pretrain="rbm",
    pretrain_epochs=6,
    max_epochs=40,
    tol=None,
    early_stopping=True,
    n_iter_no_change=50,
    random_state=3,
    dtype="float64",
)

_SCRIPT = """
import sys, time, warnings
from pathlib import Path
import numpy as np
from weightwise.estimators import BPClassifier
warnings.simplefilter("ignore")
settings, folder, out = eval(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
rng = np.random.default_rng(0)
X = rng.random((80, 6))
y = (X[:, 0] + X[:, 1] > 1).astype(int)
def slow(info):
    (folder.parent / "progress").write_text("training")
    time.sleep(0.01)
est = BPClassifier(**settings, checkpoint_dir=folder, callbacks=[slow], pretrain_callbacks=[slow])
est._keep_checkpoint_until_saved().fit(X, y)
(folder.parent / "progress").write_text("fitted")
time.sleep(float(sys.argv[4]))  # the window between the end of fit and the model file
est.save(out)
"""


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.random((80, 6))
    return X, (X[:, 0] + X[:, 1] > 1).astype(int)


def test_killed_fits_resume_bit_for_bit(tmp_path: Path) -> None:
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    folder, out, progress = tmp_path / "ckpt", tmp_path / "model.safetensors", tmp_path / "progress"
    chooser = random.Random(int(os.environ.get("WEIGHTWISE_KILL_SEED", "0")))
    kills, at_save = 0, 0
    for attempt in range(ROUNDS + 20):
        progress.unlink(missing_ok=True)
        # Every other round dies in the window after fit, before the model file is written.
        window = 2.0 if attempt % 3 == 2 and kills < ROUNDS else 0.0
        args = [sys.executable, str(script), repr(SETTINGS), str(folder), str(out), str(window)]
        proc = subprocess.Popen(args, stderr=subprocess.PIPE)
        if kills < ROUNDS:
            deadline = time.monotonic() + 60
            while not progress.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if window:
                while proc.poll() is None and progress.read_text() != "fitted":
                    time.sleep(0.01)
            else:
                time.sleep(chooser.uniform(0.0, 0.4))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                at_save += bool(window)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, err.decode()
    assert out.is_file(), "the run never finished"
    assert not folder.exists(), "the backup outlived the saved model"
    assert kills >= min(ROUNDS, 3) and at_save >= 1, (kills, at_save)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight = BPClassifier(**SETTINGS).fit(*data())
    saved = BPClassifier.load(out)
    for a, b in zip(straight.network_.get_weights(), saved.network_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert saved.n_iter_ == straight.n_iter_
    assert saved.validation_scores_ == straight.validation_scores_
