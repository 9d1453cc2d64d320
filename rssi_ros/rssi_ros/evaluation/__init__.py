"""Evaluation: accuracy metrics, trivial baselines, tables and plots of the reports.

`metrics.regression_metrics(pred, true)` gives {"rmse", "mae", "within_1db", "n"};
`baselines` holds the per-scenario mean, log-distance fit and position k-NN predictors.
No ROS and no torch here (the evaluate command imports the model lazily).
"""

from rssi_ros.evaluation.metrics import regression_metrics

__all__ = ["regression_metrics"]
