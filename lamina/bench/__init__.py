"""Benchmark runner, results store, plots and report."""
