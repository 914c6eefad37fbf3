"""Native-scale tiling: text keeps its pixel size, so 7-10 px text stays visible to the detector."""
from __future__ import annotations

import math

import numpy as np


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spaced starts covering [0, length) with tiles of `tile` px overlapping by at least `overlap` px."""
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    step = (length - tile) / (n - 1) if n > 1 else 0
    return sorted({round(i * step) for i in range(n)})


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(y0, x0) of every tile."""
    return [(y, x) for y in tile_starts(height, tile, overlap) for x in tile_starts(width, tile, overlap)]


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 HxW / HxWx1 / HxWx3 / HxWx4 -> HxWx3 RGB. Anything else is a caller bug."""
    if image.dtype != np.uint8:
        raise ValueError(f"detector expects uint8 pixels (the 8-bit detection view), got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return image[:, :, :3]
    raise ValueError(f"detector expects HxW or HxWx3 images, got shape {image.shape}")


def crop_padded(rgb: np.ndarray, y0: int, x0: int, tile: int) -> np.ndarray:
    """tile x tile crop, zero padded beyond the image (ultralytics letterbox pads with 114; the model was trained
    on zero-padded tiles and dark borders, so zero is the matching choice here)."""
    crop = rgb[y0:y0 + tile, x0:x0 + tile]
    if crop.shape[0] == tile and crop.shape[1] == tile:
        return crop
    out = np.zeros((tile, tile, 3), np.uint8)
    out[: crop.shape[0], : crop.shape[1]] = crop
    return out
