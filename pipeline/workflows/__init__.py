"""The workflows, each written once: backtest, train/retrain and the daily forecast.

The CLI, the Python API and the Prefect flows all run these bodies.
"""
