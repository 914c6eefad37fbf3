"""The one error the pixel stage raises: the pipeline turns it into quarantine with its message."""

from inference.errors import NotReleasable


class PixelError(NotReleasable):
    """Pixel data cannot be fully anonymised (undecodable, unsupported, uncertain detection)."""
