"""Orchestration: Prefect tasks and flows over the workflows, their artifacts, ``serve``."""
