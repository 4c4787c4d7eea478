"""Forecasters behind one interface, and the metrics that compare them.

Every forecaster: ``__init__`` stores hyper-parameters, ``fit(panel) -> self``
learns (state in attributes ending in ``_``), ``predict(horizon, ids=None)``
returns the forecast frame ``unique_id, ds, mean, q<lo>, q50, q<hi>``.
No module here reads files or talks to MLflow.
"""

# Marks this package as capcast's own: capcast checks it at start (capcast/packages.py).
__distribution__ = "capcast"
