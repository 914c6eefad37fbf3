"""The review station (python -m inference.review OUTPUT) and what inference.run does with its decisions.

Kept light: inference.run and the pipeline import inference.review.store / .apply only."""
