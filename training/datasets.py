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

from training.config import ROOT, SynthParams, load_params


def generator_cmd(sp: SynthParams, out: Path, heldout: bool) -> list[str]:
    """The generator call for one of the two sets."""
    n, seed = (sp.heldout_n, sp.heldout_seed) if heldout else (sp.train_n, sp.train_seed)
    cmd = [sys.executable, "-m", sp.generator, "--out", str(out), "--n", str(n), "--seed", str(seed)]
    if sp.heldout_families:
        cmd += ["--families" if heldout else "--exclude-families", *sp.heldout_families]
    if sp.heldout_fonts:  # font ids/globs, or "held-out" = synth's own held-out font families
        cmd += ["--fonts" if heldout else "--exclude-fonts", *sp.heldout_fonts]
    return cmd + ["--workers", str(sp.workers)]


def hard_cmd(sp: SynthParams, out: Path) -> list[str]:
    """The generator call that appends the hard examples (images train_n .. train_n+hard_n-1, same seed, same
    exclusions) with their own share of faint text and of light strokes: the detector's main misses on held-out
    layouts and fonts."""
    cmd = generator_cmd(sp, out, heldout=False)
    n_at = cmd.index("--n")
    cmd[n_at + 1] = str(sp.hard_n)
    cmd += ["--start", str(sp.train_n), "--low-contrast", str(sp.hard_low_contrast), "--documents-every", "0"]
    return cmd + (["--thin", str(sp.hard_thin)] if sp.hard_thin is not None else [])


def make_sets(sp: SynthParams) -> None:
    for heldout, d in ((False, sp.train_dir), (True, sp.heldout_dir)):
        out = ROOT / d
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        cmds = [generator_cmd(sp, out, heldout)]
        if not heldout and sp.hard_n > 0:
            cmds.append(hard_cmd(sp, out))
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
