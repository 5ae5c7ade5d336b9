"""Mend: a small static-site generator for an honest, evidence-based breakup guide."""

__version__ = "0.1.0"
