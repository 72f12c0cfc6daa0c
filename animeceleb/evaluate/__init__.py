"""Evaluation: reconstruction metrics against the copy-source baseline, JSON reports and comparison grids."""

from animeceleb.evaluate.metrics import image_metrics
from animeceleb.evaluate.reenact import reenact
from animeceleb.evaluate.run import evaluate

__all__ = ["evaluate", "image_metrics", "reenact"]
