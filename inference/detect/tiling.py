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


STRIDE = 32  # the network's largest stride: a dynamic-shape input must be a multiple of it


def axis_tile(length: int, tile: int, overlap: int, dynamic: bool) -> int:
    """Tile length along one image axis. A fixed-shape model takes tile px; for a dynamic-shape model, the same
    NUMBER of tiles as with tile px, each only as long as needed to cover the axis with the overlap, rounded up
    to the stride. WHY: a 460 px image padded to 640 px, or a 1024 px axis cut into two 640 px tiles, spends up
    to half the inference on padding and double-covered pixels; the text keeps its native size either way."""
    if not dynamic:
        return tile
    n = 1 if length <= tile else math.ceil((length - overlap) / (tile - overlap))
    need = math.ceil((length + (n - 1) * overlap) / n)
    return min(tile, math.ceil(need / STRIDE) * STRIDE)


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(y0, x0) of every tile x tile tile."""
    return [(y, x) for y in tile_starts(height, tile, overlap) for x in tile_starts(width, tile, overlap)]


def tile_plan(height: int, width: int, tile: int, overlap: int,
              dynamic: bool) -> tuple[int, int, list[tuple[int, int]]]:
    """(tile height, tile width, (y0, x0) of every tile) for a fixed- or dynamic-shape model (see axis_tile)."""
    th, tw = axis_tile(height, tile, overlap, dynamic), axis_tile(width, tile, overlap, dynamic)
    return th, tw, [(y, x) for y in tile_starts(height, th, overlap) for x in tile_starts(width, tw, overlap)]


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


def crop_padded(rgb: np.ndarray, y0: int, x0: int, tile: int, tile_w: int | None = None) -> np.ndarray:
    """tile x tile_w crop (square when tile_w is None), zero padded beyond the image (ultralytics letterbox pads
    with 114; the model was trained on zero-padded tiles and dark borders, so zero is the matching choice here)."""
    tile_w = tile if tile_w is None else tile_w
    crop = rgb[y0:y0 + tile, x0:x0 + tile_w]
    if crop.shape[0] == tile and crop.shape[1] == tile_w:
        return crop
    out = np.zeros((tile, tile_w, 3), np.uint8)
    out[: crop.shape[0], : crop.shape[1]] = crop
    return out
