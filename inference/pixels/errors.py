"""The one error the pixel stage raises: the pipeline turns it into quarantine with its message."""


class PixelError(Exception):
    """Pixel data cannot be fully anonymised (undecodable, unsupported, uncertain detection)."""
