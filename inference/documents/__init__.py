"""Content de-identification of non-image objects: SR content trees, encapsulated documents, waveforms.

Each handler is ``deidentify_<kind>(ds, identity, keyring, textdeid) -> list[str]`` (the actions done, no
values) and runs BEFORE the header engine. Each module also exports ``KEEP_TAGS``: the attributes it has
already cleaned, which the pipeline passes as ``deidentify_dataset(..., keep_tags=KEEP_TAGS)`` so the header
engine neither dummies them nor cleans their text a second time (a second date shift would be wrong).
"""
from ..errors import (
    DocumentError,  # the one DocumentError (the auditor's too): quarantine with its reason
)

__all__ = ["DocumentError", "CLEAN_STRUCTURED_CONTENT", "keep_tags", "method_codes"]


# CID 7050 codes a content handler earns by what it did (the header engine writes them; 113101 Clean Pixel Data
# comes from the pixel stage itself).
CLEAN_STRUCTURED_CONTENT = ("113104", "Clean Structured Content Option")


def method_codes(handler: str) -> tuple[tuple[str, str], ...]:
    """DeidentificationMethodCodeSequence codes for what the content handler ``handler`` did (SR: its content
    tree was cleaned); the pipeline passes them as ``deidentify_dataset(..., content_codes=...)``."""
    return (CLEAN_STRUCTURED_CONTENT,) if handler == "sr" else ()


def keep_tags(handler: str) -> frozenset[int]:
    """The ``keep_tags`` the header engine needs after the content handler ``handler`` ran (empty for others)."""
    if handler == "sr":
        from .sr import KEEP_TAGS
    elif handler == "pdf":
        from .pdf import KEEP_TAGS
    elif handler == "waveform":
        from .waveform import KEEP_TAGS
    else:
        return frozenset()
    return KEEP_TAGS
