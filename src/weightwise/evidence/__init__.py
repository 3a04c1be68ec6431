"""What happened during training, and why: gradient flow and information per layer.

Reports, plots and sweeps live in their own modules of this package and are imported from there
(they pull in matplotlib, joblib or Dask); this package root stays light.
"""

from .diagnostics import GradientFlow, Thresholds, flow_ratio, gradient_norms, gradient_norms_at
from .information import (
    ESTIMATORS,
    InformationPlane,
    binning_information,
    information_per_layer,
    kde_information,
)

__all__ = [
    "ESTIMATORS",
    "GradientFlow",
    "InformationPlane",
    "Thresholds",
    "binning_information",
    "flow_ratio",
    "gradient_norms",
    "gradient_norms_at",
    "information_per_layer",
    "kde_information",
]
