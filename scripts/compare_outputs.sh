#!/usr/bin/env bash
# Byte comparison of two versions on the same inputs and key: does a change alter released outputs?
#   scripts/compare_outputs.sh BASE_REV INPUT_DIR [INPUT_DIR...]      (run from the repo root)
# Runs python -m inference.run from a git worktree of BASE_REV and from this checkout, same MEDANON_KEY, then
# lists every OUTPUT file that is missing, extra or different. Note: MP4 (libx264) is not byte-stable between
# two runs of the same version; compare it decoded, or leave --format mp4 out.
set -euo pipefail
base_rev=$1; shift
work=$(mktemp -d /tmp/medanon-compare.XXXXXX)
git worktree add --detach "$work/tree" "$base_rev" >/dev/null 2>&1
trap 'git worktree remove --force "$work/tree"; rm -rf "$work"' EXIT
export MEDANON_KEY=${MEDANON_KEY:-compare-key-not-secret-0123456789abcdef}
for input in "$@"; do
  name=$(basename "$input")
  for side in base new; do
    tree=$([ $side = base ] && echo "$work/tree" || pwd)
    (cd "$tree" && nice -n 19 python3 -m inference.run "$input" "$work/out/$side/$name" --format dicom,jpg --quiet \
       >/dev/null 2>&1) || true  # exit 3 (something quarantined) is a result too
  done
done
python3 - "$work" <<'PY'
import hashlib, sys
from pathlib import Path
work = Path(sys.argv[1])
def tree(p):  # OUTPUT only: the trail and the quarantine record run details (fingerprint, timings)
    return {f.relative_to(p): hashlib.sha256(f.read_bytes()).hexdigest() for f in p.rglob("*")
            if f.is_file() and not f.relative_to(p).parts[0].endswith((".audit", ".quarantine"))}
a, b = tree(work / "out" / "base"), tree(work / "out" / "new")
diff = sorted(str(k) for k in a.keys() | b.keys() if a.get(k) != b.get(k))
print(f"{len(a)} base files, {len(b)} new files, {len(diff)} missing, extra or different")
print("\n".join(diff[:50]))
sys.exit(1 if diff else 0)
PY
