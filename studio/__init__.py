"""Artifacts Studio: local code models that make live, sandboxed, exportable artifacts."""

__version__ = "0.1.0"
APP_NAME = "Artifacts Studio"
