"""Training jobs: backtest, train, register and promote models in MLflow."""

# Marks this package as capcast's own: capcast checks it at start (capcast/packages.py).
__distribution__ = "capcast"
