"""Non-pixel-data burned-in carriers: overlay planes (60xx) and graphic annotations.

Policy (README.md): overlays are REMOVED, not burned in. WHY: an overlay plane can carry a name
or ID as a bitmap that no header rule reads; burning it in would put it into the pixels we just
cleaned. Overlay bits stored inside the pixel data's unused high bits are cleared by
decode.iter_frames. Graphic annotations in an image object (Graphic Annotation Sequence, with
free-text Text Objects) are removed. Presentation states (GSPS) keep their graphics but lose their
text objects (clean_presentation_state), which is what the Clean Graphics option asks for.
"""
from __future__ import annotations

from pydicom.dataset import Dataset

GRAPHIC_ANNOTATION_SEQUENCE = 0x00700001


def remove_overlays(ds: Dataset) -> list[str]:
    """Delete every element of the repeating groups 6000-601E (even). Returns removed group names."""
    groups = sorted({tag.group for tag in ds.keys() if 0x6000 <= tag.group <= 0x601E and tag.group % 2 == 0})
    for group in groups:
        for tag in [t for t in ds.keys() if t.group == group]:
            del ds[tag]
    return [f"{g:04X}" for g in groups]


def remove_graphic_annotations(ds: Dataset) -> bool:
    """Delete the Graphic Annotation Sequence of an image object; True when one was present."""
    if GRAPHIC_ANNOTATION_SEQUENCE in ds:
        del ds[GRAPHIC_ANNOTATION_SEQUENCE]
        return True
    return False


def clean_presentation_state(ds: Dataset) -> int:
    """Remove TextObjectSequence from every Graphic Annotation item (GSPS); returns count removed.

    Items left without any graphic object are dropped (an item needs text or graphics), and so is
    an emptied sequence, so the presentation state stays valid.
    """
    removed = 0
    items = ds.get("GraphicAnnotationSequence")
    if not items:
        return 0
    kept = []
    for item in items:
        if "TextObjectSequence" in item:
            removed += len(item.TextObjectSequence)
            del item.TextObjectSequence
        if item.get("GraphicObjectSequence"):
            kept.append(item)
    if kept:
        ds.GraphicAnnotationSequence = kept
    else:
        del ds.GraphicAnnotationSequence
    return removed
