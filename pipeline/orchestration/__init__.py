"""Orchestration: Prefect tasks and flows over the workflows, their artifacts, and ``stackcast serve``."""
