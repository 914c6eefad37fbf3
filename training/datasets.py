"""DVC stage "synth": the training set and the leave-some-out held-out set, both from the synthetic generator.

    python -m training.datasets [--params params.yaml]

Training excludes ``synth.heldout_families`` and ``synth.heldout_fonts``; the held-out set uses ONLY those (and
another seed), so its recall measures generalisation to layouts and fonts the model never saw.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from training.config import ROOT, HardSet, SynthParams, load_params


def generator_cmd(sp: SynthParams, out: Path, heldout: bool) -> list[str]:
    """The generator call for one of the two sets."""
    n, seed = (sp.heldout_n, sp.heldout_seed) if heldout else (sp.train_n, sp.train_seed)
    cmd = [sys.executable, "-m", sp.generator, "--out", str(out), "--n", str(n), "--seed", str(seed)]
    if sp.heldout_families:
        cmd += ["--families" if heldout else "--exclude-families", *sp.heldout_families]
    if sp.heldout_fonts:  # font ids/globs, or "held-out" = synth's own held-out font families
        cmd += ["--fonts" if heldout else "--exclude-fonts", *sp.heldout_fonts]
    return cmd + ["--workers", str(sp.workers)]


def hard_cmds(sp: SynthParams, out: Path) -> list[list[str]]:
    """The generator calls that append the hard-example blocks (same seed, same exclusions), one after another
    from image train_n, each with its own share of faint text and light strokes and, when set, its own fonts:
    the detector's main misses on held-out layouts and fonts."""
    cmds, start = [], sp.train_n
    for h in sp.hard:
        cmds.append(hard_cmd(sp, h, start, out))
        start += h.n
    return cmds


def hard_cmd(sp: SynthParams, h: HardSet, start: int, out: Path) -> list[str]:
    """One hard block: images start .. start+h.n-1."""
    cmd = generator_cmd(sp, out, heldout=False)
    cmd[cmd.index("--n") + 1] = str(h.n)
    cmd += ["--start", str(start), "--low-contrast", str(h.low_contrast), "--documents-every", "0"]
    cmd += ["--thin", str(h.thin)] if h.thin is not None else []
    cmd += ["--frame-mix", str(h.frame_mix)] if h.frame_mix else []
    cmd += ["--real-frames", str(h.real_frames), "--backgrounds", str(backgrounds_file(h.modalities))] \
        if h.real_frames else []
    return cmd + (["--fonts", *h.fonts] if h.fonts else [])


BACKGROUNDS = ROOT / "data" / "real" / "backgrounds.txt"  # text-free real frames of the TRAINING split


def backgrounds_file(modalities: list[str] | tuple[str, ...] = ()) -> Path:
    """The background list of a block: every training frame, or those of some modalities only."""
    return BACKGROUNDS if not modalities else BACKGROUNDS.with_name(f"backgrounds-{'-'.join(modalities)}.txt")


def write_backgrounds(path: Path = BACKGROUNDS, modalities: list[str] | tuple[str, ...] = ()) -> int:
    """List the training split's text-free real frames (of ``modalities`` when given) for synth --backgrounds;
    returns how many."""
    from training.realdata import background_frames  # noqa: PLC0415

    frames = background_frames("train", tuple(modalities))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{p}\n" for p in frames))
    return len(frames)


def make_sets(sp: SynthParams) -> None:
    for mods in {tuple(h.modalities) for h in sp.hard if h.real_frames}:
        path = backgrounds_file(mods)
        print(f"real backgrounds: {write_backgrounds(path, mods)} frames -> {path}", flush=True)
    for heldout, d in ((False, sp.train_dir), (True, sp.heldout_dir)):
        out = ROOT / d
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        cmds = [generator_cmd(sp, out, heldout)]
        if not heldout:
            cmds += hard_cmds(sp, out)
        for cmd in cmds:
            print(" ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=None)
    a = ap.parse_args(argv)
    make_sets(load_params(a.params).synth)


if __name__ == "__main__":
    main()
