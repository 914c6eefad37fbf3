"""Generated DICOM decode in every encoding; label boxes are exact; generation is deterministic."""
import dataclasses
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from synth.dicomio import COMPRESSIONS, PIXEL_FORMATS, parse_encoding, to_display
from synth.fonts import discover_fonts
from synth.generate import main as generate_main, render_one, write_one
from synth.layout import load_layouts
from synth.render import Scene, composite, rasterize, rotate90

FONTS = discover_fonts()
FONT_PATH = {f.id: f.path for f in FONTS}


def _encodings():
    out = []
    for p in PIXEL_FORMATS:
        for c in COMPRESSIONS:
            try:
                out.append(parse_encoding(f"{p}+{c}" if c != "none" else p).name)
            except ValueError:
                pass
    return out


def _small(family, **kw):
    lay = load_layouts()[family]
    return dataclasses.replace(lay, sizes=((400, 320),), scale=(1.0, 1.0), **kw)


@pytest.fixture(scope="module")
def per_family():
    """One in-memory result per layout family (seeded)."""
    return {fam: render_one(lay, FONTS, 11, k) for k, (fam, lay) in enumerate(sorted(load_layouts().items()))}


@pytest.mark.parametrize("enc", _encodings())
def test_every_encoding_decodes(enc, tmp_path):
    family = "us_cine_timer" if enc in ("rgb+rle", "mono2_8+jpeg") else "ctmr_viewer_corners"  # incl. multi-frame
    res = render_one(_small(family, encodings=(enc,)), FONTS, 5, 1)
    for sub in ("images", "png", "labels", "gt"):
        (tmp_path / sub).mkdir()
    write_one(res, tmp_path)
    ds = pydicom.dcmread(tmp_path / "images" / f"{res['id']}.dcm")
    arr = ds.pixel_array
    frame0 = arr[0] if int(ds.get("NumberOfFrames", 1)) > 1 else arr
    png = np.asarray(Image.open(tmp_path / "png" / f"{res['id']}.png"))
    assert ds.BurnedInAnnotation == "YES" and ds.SpecificCharacterSet == "ISO_IR 192"
    assert ds.PatientName == res["identity"].dicom_name
    e = parse_encoding(enc)
    assert ds.BitsStored == e.bits
    if e.compression == "jpeg":
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.JPEGBaseline8Bit
        if e.color:
            assert ds.PhotometricInterpretation == "YBR_FULL_422"   # pydicom's pixel_array converts it to RGB
        assert np.abs(frame0.astype(int) - png.astype(int)).mean() < 3   # different JPEG decoders, same image
    else:
        assert np.array_equal(to_display(frame0, e), png)


def _union_mask(gt, frame, h, w):
    m = np.zeros((h, w), bool)
    for obj in gt["items"] + gt["plates"]:
        if obj["frames"] is None or frame in obj["frames"]:
            x0, y0, x1, y1 = obj["box"]
            m[y0:y1, x0:x1] = True
    return m


def test_boxes_are_exact(per_family):
    for fam, res in per_family.items():
        gt = res["gt"]
        h, w = gt["rows"], gt["cols"]
        assert gt["items"], fam
        for it in gt["items"]:
            x0, y0, x1, y1 = it["box"]
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (fam, it)
            # the item rendered alone on a blank canvas has exactly the box's extent (tight, nothing outside)
            g = rasterize(it["text"], FONT_PATH[it["font"]], it["size"], it["aliased"], it["stroke"],
                          outline=it["outline"] is not None, thin=it.get("thin", 0))
            if it["angle"] == 90:
                g = rotate90(g)
            assert g.mask.shape == (y1 - y0, x1 - x0), (fam, it["text"])
            assert g.mask[0].any() and g.mask[-1].any() and g.mask[:, 0].any() and g.mask[:, -1].any()
            assert len(it["chars"]) == len(it["text"])
            for c in it["chars"]:
                if c:
                    assert x0 <= c[0] < c[2] <= x1 and y0 <= c[1] < c[3] <= y1
        # every pixel the text changed lies in a box (or a plate) on every frame
        for k, clean in enumerate(res["clean"]):
            changed = composite(clean, Scene(), k) != res["display"][k]
            if changed.ndim == 3:
                changed = changed.any(-1)
            outside = changed & ~_union_mask(gt, k, h, w)
            assert not outside.any(), f"{fam}: ink outside boxes on frame {k}"
            assert changed.any()


def test_labels_match_gt(per_family):
    res = per_family["us_banner"]
    gt = res["gt"]
    rows = [list(map(float, r.split()[1:])) for r in res["labels"]]
    frame0 = [i for i in gt["items"] if i["frames"] is None or 0 in i["frames"]]
    assert len(rows) == len(frame0)
    for (cx, cy, bw, bh), it in zip(rows, frame0):
        x0, y0, x1, y1 = it["box"]
        assert abs(cx * gt["cols"] - (x0 + x1) / 2) < 0.01 and abs(bw * gt["cols"] - (x1 - x0)) < 0.01
    assert any(i["phi"] and i["kind"] == "name" for i in gt["items"])
    assert any(not i["phi"] for i in gt["items"])


def test_families_cover_features(per_family):
    gts = [r["gt"] for r in per_family.values()]
    assert any(i["angle"] == 90 for g in gts for i in g["items"])
    assert any(g["plates"] for g in gts)
    assert any(i["frames"] is not None for g in gts for i in g["items"])   # per-frame timers
    assert any(g["frames"] > 1 for g in gts)
    assert any(i["opacity"] < 1 for g in gts for i in g["items"])


def test_outlined_text_box_covers_halo():
    g = rasterize("Žukauskas 12:30", FONTS[0].path, 14, outline=True)
    plain = rasterize("Žukauskas 12:30", FONTS[0].path, 14)
    assert g.fill is not None and g.fill.shape == g.mask.shape
    assert g.mask.shape == (plain.mask.shape[0] + 2, plain.mask.shape[1] + 2)
    assert (g.mask >= g.fill).all()


def _digest(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_for_seed(tmp_path):
    args = ["--n", "4", "--seed", "3", "--families", "us_banner", "xa_rf_overlay", "mammo_vertical", "ecg_printout_header"]
    assert generate_main(["--out", str(tmp_path / "a"), *args]) == 0
    assert generate_main(["--out", str(tmp_path / "b"), *args, "--workers", "2"]) == 0
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a == b and len([k for k in a if not k.startswith("documents/")]) == 4 * 4 + 2
    c = tmp_path / "c"
    generate_main(["--out", str(c), *args[:2], "--seed", "4", *args[4:]])
    assert _digest(c)["gt/s4_000000.json"] != a["gt/s3_000000.json"]


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools not installed (scripts/install.sh dev)")
def test_dciodvfy_has_no_errors(tmp_path):
    fams = ["us_banner", "us_cine_timer", "crdx_label_plate", "endoscopy_side_panel", "ctmr_viewer_corners",
            "xa_rf_overlay"]
    generate_main(["--out", str(tmp_path), "--n", str(len(fams)), "--seed", "9", "--families", *fams])
    for f in sorted((tmp_path / "images").glob("*.dcm")):
        out = subprocess.run(["dciodvfy", "-new", str(f)], capture_output=True, text=True)
        errors = [l for l in (out.stdout + out.stderr).splitlines() if l.startswith("Error")]
        assert not errors, (f.name, errors)


@pytest.mark.skipif(__import__("synth.generate", fromlist=["x"]).documents_module() is None,
                    reason="synth.documents not written yet")
def test_documents_hook_same_identity(tmp_path):
    generate_main(["--out", str(tmp_path), "--n", "1", "--seed", "6", "--families", "us_banner",
                   "--documents-every", "1"])
    gt = json.loads((tmp_path / "gt" / "s6_000000.json").read_text(encoding="utf-8"))
    docs = sorted((tmp_path / "documents" / "s6_000000").glob("*.dcm"))
    assert docs
    for d in docs:
        ds = pydicom.dcmread(d, stop_before_pixels=True)
        assert str(ds.PatientName) == gt["identity"]["name"], d.name


@pytest.mark.parametrize("field", ["low_contrast", "thin"])
def test_style_override_reaches_every_layout(tmp_path, monkeypatch, field):
    """--low-contrast / --thin (hard-example sets, synth.hard_n) replace each layout's own share."""
    import synth.generate as gen

    seen = []
    real = gen.render_one
    monkeypatch.setattr(gen, "render_one", lambda layout, *a: seen.append(getattr(layout.text, field)) or real(layout, *a))
    layouts = load_layouts()
    fams = ("ctmr_viewer_corners", "us_banner")
    fonts = tuple(discover_fonts())[:3]
    for override, want in ((0.6, {0.6}), (None, {getattr(layouts[f].text, field) for f in fams})):
        seen.clear()
        cfg = gen.GenConfig(out=tmp_path / str(override), n=2, seed=5, families=fams, fonts=fonts,
                            documents_every=0, **{field: override})
        gen.generate(cfg, workers=1, progress=False)
        assert set(seen) == want and len(seen) == 2


def test_frame_mix_borrows_only_selected_families_frames():
    """--frame-mix draws some images over another SELECTED family's kind of frame (never a held-out family's
    own), and with 0 leaves every layout's frame alone."""
    import synth.generate as gen

    layouts = load_layouts()
    fams = ("ctmr_viewer_corners", "us_banner", "endoscopy_side_panel")
    own = {layouts[f].frame for f in fams}
    cfg = gen.GenConfig(out=Path("unused"), n=0, seed=5, families=fams, fonts=(), frame_mix=1.0)
    for i in range(30):
        lay = layouts[fams[i % 3]]
        mixed = gen.mixed_frame(lay, cfg, layouts, i)
        assert mixed.frame in own - {lay.frame} and mixed.family == lay.family
    half = dataclasses.replace(cfg, frame_mix=0.5)
    swapped = sum(gen.mixed_frame(layouts["us_banner"], half, layouts, i).frame != "us_sector" for i in range(200))
    assert 70 < swapped < 130
    off = dataclasses.replace(cfg, frame_mix=0.0)
    assert all(gen.mixed_frame(layouts[f], off, layouts, 1) is layouts[f] for f in fams)
    assert "fluoro" not in own and all(gen.mixed_frame(layouts[f], cfg, layouts, 2).frame != "fluoro" for f in fams)


def test_thin_strokes_are_lighter_but_keep_their_ink_and_boxes():
    """Light strokes (text.thin) take ink away, never below THIN_MIN_INK of the regular weight, and an
    already-light font (FreeMono) falls back to a lighter level instead of vanishing; labels stay the font's."""
    from synth.render import THIN_MIN_INK

    text = "JANKAUSKAITĖ, UGNĖ 13.10.2003"
    for font_id in ("dejavusansmono", "freemono"):
        if font_id not in FONT_PATH:
            pytest.skip(f"{font_id} not installed")
        regular = rasterize(text, FONT_PATH[font_id], 11)
        for level in (1, 2):
            light = rasterize(text, FONT_PATH[font_id], 11, thin=level)
            ink, ink0 = float(light.mask.sum()), float(regular.mask.sum())
            assert THIN_MIN_INK * ink0 <= ink < 0.95 * ink0, (font_id, level, ink / ink0)
            assert len(light.chars) == len(text)
    # at 11 px FreeMono has no room for level 2: the same image as level 1
    assert np.array_equal(rasterize(text, FONT_PATH["freemono"], 11, thin=2).mask,
                          rasterize(text, FONT_PATH["freemono"], 11, thin=1).mask)


def test_font_families_keep_weights_and_styles_together():
    """Held-out splits are by family: an italic must never put a held-out family into training."""
    from synth.fonts import HELD_OUT_FAMILIES, _family

    assert _family("jetbrainsmono-thinitalic") == _family("jetbrainsmono-thin") == "jetbrainsmono-thin"
    assert _family("jetbrainsmono-extralightitalic") == "jetbrainsmono-extralight"
    assert _family("lato-hairlineitalic") == "lato-hairline" and _family("roboto-blackitalic") == "roboto"
    assert _family("freemonoboldoblique") == "freemono" and _family("liberationserif-bolditalic") == "liberationserif"
    held = [f for f in FONTS if f.family in HELD_OUT_FAMILIES]
    assert held and all(f.split_hint == "test" for f in held)
    assert all(f.split_hint == "train" for f in FONTS if f.family not in HELD_OUT_FAMILIES)


def test_near_duplicate_font_files_stay_out_of_the_catalogue():
    """One package's many near-identical cuts (Inter Display, M+ Code widths) must not crowd out other fonts."""
    from synth.fonts import _SKIP

    assert all(_SKIP.search(n) for n in ("InterDisplay-Thin.otf", "MplusCode50-Light.otf", "Mplus1-Thin.otf"))
    assert not any(_SKIP.search(n) for n in ("Mplus1Code-Thin.otf", "Mplus2-Thin.otf", "Inter-Thin.otf"))
