"""scikit-learn's own estimator checks, run on small, fast instances of the BP estimators."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from weightwise.estimators import BPClassifier, BPRegressor

# Small networks and few epochs keep the ~100 fits of the check suite fast; the learning rate is
# raised so that the checks' accuracy (> 0.83) and R^2 (> 0.5) floors are still reached.
ESTIMATORS = [
    BPClassifier(hidden_layer_sizes=(16,), learning_rate=0.02, max_epochs=40, random_state=0),
    BPRegressor(hidden_layer_sizes=(16,), learning_rate=0.02, max_epochs=60, random_state=0),
]


pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def expected_failed_checks(estimator: object) -> dict[str, str]:
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
