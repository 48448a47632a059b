"""Dagster layer: assets, asset checks, resources and definitions.

Thin by design: every computation lives in `pipeline/`; this package wires it into
Dagster (inputs and outputs, metadata for the UI, blocking checks).
"""
