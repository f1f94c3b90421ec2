"""Readers for the shared data sets."""
