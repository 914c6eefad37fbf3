"""Tile cutting and real-set loading (training/tiles.py, training/realset.py): real PNG files on disk."""
import json

import cv2
import numpy as np
import pytest

from training.realset import RealSetError, load_real_set, prepare_real_set
from training.tiles import TileConfig, build_tiles, clip_to_tile, pad_box, read_yolo_labels


def test_pad_box_makes_thin_side_at_least_min_height():
    b = np.array([[10, 10, 100, 17], [50, 50, 57, 150]], np.float32)
    p = pad_box(b, 0.15, 11)
    assert p[0, 3] - p[0, 1] >= 11 and p[1, 2] - p[1, 0] >= 11  # horizontal line / vertical label
    assert p[0, 2] - p[0, 0] > 90  # grown along the text too


def test_clip_keeps_partial_text_drops_slivers():
    # line 1: 100 of 200 px visible -> kept (text cut by the tile edge is still text);
    # line 2: 5 px visible < 0.8 x thickness 10 -> dropped (less than a character)
    b = np.array([[0, 10, 200, 20], [95, 50, 300, 60]], np.float32)
    c = clip_to_tile(b, 0, 0, 100, 0.4)
    assert c.tolist() == [[0, 10, 100, 20]]
    # 9 px of a 10 px tall line (about one character) -> kept
    assert len(clip_to_tile(np.array([[91, 50, 300, 60]], np.float32), 0, 0, 100, 0.4)) == 1


def _write_set(root, n=3, size=(300, 400)):
    (root / "png").mkdir(parents=True)
    (root / "labels").mkdir()
    h, w = size
    for i in range(n):
        img = np.zeros((h, w), np.uint8)
        cv2.putText(img, "JONAS 1985", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 255, 1)
        cv2.imwrite(str(root / "png" / f"{i}.png"), img)
        (root / "labels" / f"{i}.txt").write_text(f"0 {60 / w} {36 / h} {80 / w} {12 / h}\n")


def test_build_tiles_writes_yolo_dataset(tmp_path):
    _write_set(tmp_path / "src")
    counts = build_tiles([tmp_path / "src"], tmp_path / "tiles", TileConfig(size=128, per_image=4, val_fraction=0.0))
    assert counts == {"train": 12, "val": 0}
    data = (tmp_path / "tiles" / "data.yaml").read_text()
    assert "names" in data and "text" in data
    tiles = sorted((tmp_path / "tiles" / "images" / "train").glob("*.png"))
    assert cv2.imread(str(tiles[0])).shape[:2] == (128, 128)
    # text-centred tiles carry the (padded) label, inside the tile
    labels = [read_yolo_labels(tmp_path / "tiles" / "labels" / "train" / f"{t.stem}.txt", 128, 128) for t in tiles]
    with_text = [b for b in labels if len(b)]
    assert with_text and all((b >= 0).all() and (b <= 128).all() for b in with_text)


def test_realset_yolo_and_coco(tmp_path):
    y = tmp_path / "yolo"
    (y / "images").mkdir(parents=True)
    (y / "labels").mkdir()
    cv2.imwrite(str(y / "images" / "a.png"), np.zeros((50, 100), np.uint8))
    cv2.imwrite(str(y / "images" / "neg.png"), np.zeros((50, 100), np.uint8))
    (y / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    items = load_real_set(y)
    assert [(p.name, len(b)) for p, b in items] == [("a.png", 1), ("neg.png", 0)]

    c = tmp_path / "coco"
    (c / "images").mkdir(parents=True)
    cv2.imwrite(str(c / "images" / "x.png"), np.zeros((50, 100, 3), np.uint8))
    (c / "annotations.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "x.png", "width": 100, "height": 50}],
        "annotations": [{"image_id": 1, "bbox": [10, 5, 20, 10], "category_id": 1}]}))
    out = prepare_real_set(c, tmp_path / "prepared")
    assert (out / "labels" / "real000000.txt").read_text().split() == ["0", "0.200000", "0.200000", "0.200000", "0.200000"]


def test_realset_malformed_labels_raise(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((10, 10), np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("0 5 5 20 20\n")  # pixels, not normalised
    with pytest.raises(RealSetError):
        load_real_set(tmp_path)


def test_image_splits_never_leave_val_empty():
    import random

    from training.tiles import image_splits

    assert "val" in image_splits(3, 0.01, random.Random(0))
    assert image_splits(3, 0.0, random.Random(0)) == ["train"] * 3


def test_hard_blocks_follow_each_other_with_their_own_styles_and_fonts(tmp_path):
    """synth.hard appends blocks after train_n, one after another, with the training exclusions, each block's own
    faint and light-stroke shares and, when set, its own fonts (the gen 4 and gen 5 data: params.yaml)."""
    from training.config import HardSet, SynthParams
    from training.datasets import generator_cmd, hard_cmds

    sp = SynthParams(train_n=10, heldout_families=["us_banner"], heldout_fonts=["held-out"],
                     hard=[HardSet(n=4, low_contrast=0.15, thin=0.6), HardSet(n=3, fonts=["*-thin*"])])
    first, second = hard_cmds(sp, tmp_path)
    base = generator_cmd(sp, tmp_path, heldout=False)
    assert first[first.index("--n") + 1] == "4" and first[first.index("--start") + 1] == "10"
    assert first[first.index("--low-contrast") + 1] == "0.15" and first[first.index("--thin") + 1] == "0.6"
    assert "--exclude-families" in first and "--exclude-fonts" in first and first[:3] == base[:3]
    assert "--fonts" not in first and "--thin" not in second
    assert second[second.index("--start") + 1] == "14" and second[second.index("--fonts") + 1:] == ["*-thin*"]
    assert hard_cmds(SynthParams(train_n=10), tmp_path) == []


def test_params_build_hard_blocks_and_reject_unknown_keys(tmp_path):
    """A typo inside a hard block is an error, not a silent default."""
    from training.config import HardSet, load_params

    p = tmp_path / "p.yaml"
    p.write_text("synth:\n  hard:\n    - {n: 2, thin: 0.5}\n")
    assert load_params(p).synth.hard == [HardSet(n=2, thin=0.5)]
    p.write_text("synth:\n  hard:\n    - {n: 2, thinn: 0.5}\n")
    with pytest.raises(ValueError, match="thinn"):
        load_params(p)