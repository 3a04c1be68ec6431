"""The scikit-learn estimator checks expected to fail, in one list for every test file that runs
them.

Bernoulli visible units (``RBM``, ``DBN``, and the BP estimators with ``pretrain="rbm"``) take
values in [0, 1] only, and refuse anything else with a DataError: clipping would silently change
the data. The checks below feed such data (blobs, negative or large values, integers up to 10),
so they fail for those estimators by design; every other check runs, and every estimator without
Bernoulli visible units runs them all. A check that does not apply to an estimator's kind (a
classifier check on a transformer) is not run, so its name here is harmless.
"""

from __future__ import annotations

from sklearn.base import is_classifier

OUTSIDE_UNIT_INTERVAL = (
    "Bernoulli visible units need data in [0, 1]; this check feeds data outside [0, 1], which is "
    "refused with a DataError by design"
)

# Checks that feed data outside [0, 1].
OUTSIDE_UNIT_CHECKS = (
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_pipeline_consistency",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
    "check_estimators_partial_fit_n_features",
    # transformers
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
    # classifiers
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_train",
    "check_classifiers_multilabel_representation_invariance",
    "check_classifiers_multilabel_output_format_predict",
    "check_classifiers_multilabel_output_format_predict_proba",
    "check_classifiers_multilabel_output_format_decision_function",
)


def expected_failed_checks(estimator: object) -> dict[str, str]:
    """``parametrize_with_checks``'s expected failures of ``estimator``: the checks above when it
    has Bernoulli visible units, none otherwise."""
    bernoulli = getattr(estimator, "visible", None) == "bernoulli"
    if not (bernoulli or getattr(estimator, "pretrain", None) == "rbm"):
        return {}
    expected = dict.fromkeys(OUTSIDE_UNIT_CHECKS, OUTSIDE_UNIT_INTERVAL)
    if is_classifier(estimator):
        # One sample is one class, refused (as the check allows) before the values are read.
        del expected["check_fit2d_1sample"]
    return expected
