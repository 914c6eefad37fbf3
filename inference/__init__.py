"""medanon: inference, the anonymisation pipeline (python -m inference.run, or the medanon command)."""

__version__ = "0.1.0"  # the one version: pyproject.toml reads it (tool.setuptools.dynamic)
