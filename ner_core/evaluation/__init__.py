"""Evaluation: the metric registry, scoring predicted tags against gold, entity span
errors, latency measurement, scoring a run, and rebuilding a run's held-out split.
"""
