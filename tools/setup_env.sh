#!/usr/bin/env bash
# Creates .venv in the checkout and installs the pinned stack of requirements.txt in the
# order the OpenMMLab 2.x stack needs. Idempotent: a stamp keyed by requirements.txt, this
# script and pyproject.toml makes a second run a no-op; the mmcv wheel (a 7.6 min compile on 2 cores here) is cached
# outside the checkout, keyed by mmcv, torch and Python versions, so it is built once per machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/requirements.txt"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
CACHE="${TRANSFER_SUITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/transfer-suite}"
STAMP="$VENV/.setup-stamp"
STEPS=7
step_name=""

step() {  # step N "what"
    step_name="$2"
    printf '\n[setup %s/%s] %s  (%s)\n' "$1" "$STEPS" "$2" "$(date +%H:%M:%S)"
}
fail() {
    printf '\nsetup FAILED at step "%s". The output above says why; fix it and re-run `make setup`\n' "$step_name" >&2
    printf '(finished steps are not redone; the mmcv wheel cache is %s).\n' "$CACHE/wheels" >&2
}
trap fail ERR

pin() {  # pin NAME -> "NAME==VERSION" from requirements.txt
    local line
    line="$(grep -iE "^$1==" "$REQ" | head -n1 | sed 's/[[:space:]]*#.*//')"
    [ -n "$line" ] || { echo "requirements.txt has no pin for $1" >&2; return 1; }
    echo "$line"
}
version() { pin "$1" | cut -d= -f3; }

# pyproject.toml lists the project's packages: a new one needs the editable install redone.
want_stamp="$(cat "$REQ" "${BASH_SOURCE[0]}" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] && [ "${1:-}" != "--force" ]; then
    echo "setup: .venv is up to date with requirements.txt (make setup-force to redo)"
    exit 0
fi

step 1 "virtual environment ($PY) in .venv"
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required (the pinned wheels are cp311), found {sys.version.split()[0]}"'
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q "pip==24.2"

step 2 "build tools and numpy"
# Every install below uses requirements.txt as a constraint file, so a transitive
# requirement can never move a pin (seen: numpy silently upgraded to 2.x by mmdet's deps).
"${PIP[@]}" install -c "$REQ" "$(pin setuptools)" "$(pin wheel)" "$(pin ninja)" "$(pin psutil)" "$(pin numpy)"

step 3 "torch and torchvision (a CUDA build from PyPI, ~2.5 GB download the first time; runs on CPU)"
"${PIP[@]}" install -c "$REQ" "$(pin torch)" "$(pin torchvision)"

step 4 "mmcv with compiled ops (the cached wheel, or a compile: 7.6 min measured on 2 cores)"
MMCV_V="$(version mmcv)"
TORCH_V="$(version torch)"
PYTAG="cp$("$VENV/bin/python" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')"
WHEELS="$CACHE/wheels/mmcv-${MMCV_V}_torch-${TORCH_V}_${PYTAG}"
if "$VENV/bin/python" -c "import mmcv, mmcv._ext, sys; sys.exit(mmcv.__version__ != '$MMCV_V')" 2>/dev/null; then
    echo "mmcv $MMCV_V with ops already installed"
else
    wheel="$(ls "$WHEELS"/mmcv-*.whl 2>/dev/null | head -n1 || true)"
    if [ -z "$wheel" ]; then
        echo "no cached wheel in $WHEELS: building mmcv $MMCV_V from source (progress: one line per compiled object)"
        tmp="$(mktemp -d)"
        # mmcv's setup.py must see torch: without --no-build-isolation it silently skips the ops.
        MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}" FORCE_CUDA=0 \
            "${PIP[@]}" wheel -v --no-build-isolation --no-deps "mmcv==$MMCV_V" -w "$tmp" 2>&1 \
            | grep --line-buffered -oE '\[[0-9]+/[0-9]+\] [a-z+]+ .{0,0}|[^ ]*error:.*|Stored in directory.*' || true
        built="$(ls "$tmp"/mmcv-*.whl 2>/dev/null | head -n1 || true)"
        [ -n "$built" ] || { echo "mmcv wheel build produced no wheel (see the errors above)" >&2; false; }
        mkdir -p "$WHEELS"
        mv "$built" "$WHEELS/.partial" && mv "$WHEELS/.partial" "$WHEELS/$(basename "$built")"
        rm -rf "$tmp"
        wheel="$WHEELS/$(basename "$built")"
    else
        echo "using cached wheel $wheel"
    fi
    "${PIP[@]}" install --no-deps --force-reinstall "$wheel"
fi

step 5 "runtime requirements (pinned; constrained by requirements.txt)"
echo "(pip's notes that mmcv/mmengine/mmpose 'require opencv-python' or 'chumpy' are expected: see requirements.txt)"
runtime="$(mktemp)"
grep -vE '^\s*(#|$)|no-deps|^(mmcv|torch|torchvision)==' "$REQ" | sed 's/[[:space:]]*#.*//' > "$runtime"
"${PIP[@]}" install -c "$REQ" -r "$runtime"
rm -f "$runtime"

step 6 "OpenMMLab toolboxes without their declared deps (see requirements.txt) and this project"
# shellcheck disable=SC2046
"${PIP[@]}" install --no-deps $(grep -E '^[A-Za-z].*#[[:space:]]*no-deps' "$REQ" | sed 's/[[:space:]]*#.*//')
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

step 7 "import check (make doctor runs the full check)"
"$VENV/bin/python" -c "import numpy, torch, mmcv, mmcv._ext; from mmcv.ops import nms, RoIAlign; import mmdet.models, mmseg.models, mmpose.models; assert numpy.__version__.startswith('1.'), numpy.__version__; print('torch', torch.__version__, '| mmcv', mmcv.__version__, '| numpy', numpy.__version__)"

echo "$want_stamp" > "$STAMP"
trap - ERR
echo "setup: done. .venv is ready ($(du -sh "$VENV" | cut -f1))."
