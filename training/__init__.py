"""Training jobs: backtest, train, register and promote models in MLflow."""
