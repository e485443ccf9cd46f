#!/usr/bin/env bash
# Creates .venv in the checkout and installs the pinned stack of requirements.txt in the
# order the OpenMMLab 2.x stack needs. Idempotent: a stamp keyed by requirements.txt, this
# script, pyproject.toml and the GPU build inputs makes a second run a no-op; the mmcv wheel (a
# 7.6 min compile on 2 cores here) is cached outside the checkout, keyed by mmcv, torch and Python
# versions (and, for a CUDA build, nvcc's version and the GPU architectures), so it is built once
# per machine. Packages are installed by uv (pinned in requirements.txt), which links them from
# its cache (~/.cache/uv) instead of copying: a second set-up on the same machine takes seconds
# where pip took 1.5 min, mostly to copy the 2.5 GB torch wheel. pip's own configuration (index
# URLs, find-links, constraint files, certificate) is read and handed to uv, which ignores it.
#
# mmcv's ops get CUDA kernels when a GPU and an nvcc of torch's CUDA major version are here
# (TRANSFER_SUITE_MMCV_CUDA=auto, the default; 1 forces, 0 never; TORCH_CUDA_ARCH_LIST as
# torch's, default the GPUs' own compute capabilities; CUDA_HOME or nvcc on PATH).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/requirements.txt"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
CACHE="${TRANSFER_SUITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/transfer-suite}"
STAMP="$VENV/.setup-stamp"
STEPS=8
MMCV_CUDA="${TRANSFER_SUITE_MMCV_CUDA:-auto}"
case "$MMCV_CUDA" in auto|0|1) ;; *) echo "TRANSFER_SUITE_MMCV_CUDA must be auto, 0 or 1, got '$MMCV_CUDA'" >&2; exit 2;; esac
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

nvcc_path() {  # nvcc of CUDA_HOME, else the one on PATH
    if [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; then echo "$CUDA_HOME/bin/nvcc"; else command -v nvcc || true; fi
}
nvcc_version() {  # "12.1", or nothing without nvcc
    local nvcc; nvcc="$(nvcc_path)"
    [ -n "$nvcc" ] && "$nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n1 || true
}
gpu_count() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -c '^GPU' || echo 0; }
gpu_archs() {  # "8.0;9.0": TORCH_CUDA_ARCH_LIST, else the compute capabilities of the GPUs here
    if [ -n "${TORCH_CUDA_ARCH_LIST:-}" ]; then echo "$TORCH_CUDA_ARCH_LIST"; return; fi
    nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | sort -u | paste -sd';' || true
}

# pyproject.toml lists the project's packages: a new one needs the editable install redone; the
# GPU inputs decide mmcv's build (a GPU appearing or another nvcc means another mmcv).
want_stamp="$( (cat "$REQ" "${BASH_SOURCE[0]}" "$ROOT/pyproject.toml"
                echo "mmcv-cuda=$MMCV_CUDA gpus=$(gpu_count) nvcc=$(nvcc_version) archs=$(gpu_archs)") \
              | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] && [ "${1:-}" != "--force" ]; then
    echo "setup: .venv is up to date with requirements.txt (make setup-force to redo)"
    exit 0
fi

step 1 "virtual environment ($PY) in .venv"
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required (the pinned wheels are cp311), found {sys.version.split()[0]}"'
# uv itself: requirements.txt's pin, installed by pip (which reads its own configuration) once
# per machine into the cache; it then creates the venv and links pip and itself into it.
UV_HOME="$CACHE/uv-$(version uv)"
if [ "$("$UV_HOME/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$(version uv)" ]; then
    rm -rf "$UV_HOME"
    "$PY" -m venv "$UV_HOME"
    "$UV_HOME/bin/python" -m pip install -q --disable-pip-version-check "$(pin uv)"
fi
[ -x "$VENV/bin/python" ] || "$UV_HOME/bin/uv" venv -q --python "$PY" "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# pip's configuration (pip.conf files and PIP_* variables: index URLs, local wheel folders,
# constraint files, certificate, timeout) as uv arguments, so that both install from the same
# places under the same constraints. pip merges all its indexes and takes the best version:
# uv does that with --index-strategy unsafe-best-match (its default stops at the first index
# that has the package, e.g. a local index holding only a newer torch).
mapfile -t UV_PIP_CONFIG < <("$UV_HOME/bin/python" -m pip config list 2>/dev/null | "$UV_HOME/bin/python" -c '
import shlex, sys
values = {}
for line in sys.stdin:
    key, _, value = line.strip().partition("=")
    scope, _, name = key.partition(".")
    if name and (scope == ":env:" or name not in values or not values[name][0]):  # PIP_* beat files
        values[name] = (scope == ":env:", " ".join(shlex.split(value)))
flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
         "constraint": "--constraint"}
for name, (_, value) in sorted(values.items()):
    if name in flags:
        for item in value.split():
            print(flags[name]); print(item)
    elif name == "no-index" and value.lower() in ("1", "true", "yes", "on"):
        print("--no-index")
    elif name == "cert":
        print("@SSL_CERT_FILE=" + value)
    elif name == "timeout" or name == "default-timeout":
        print("@UV_HTTP_TIMEOUT=" + value.split(".")[0])
')
UV_ARGS=(--python "$VENV/bin/python" --index-strategy unsafe-best-match --link-mode hardlink)
for item in "${UV_PIP_CONFIG[@]}"; do
    case "$item" in @*) export "${item#@}" ;; *) UV_ARGS+=("$item") ;; esac
done
UV=("$UV_HOME/bin/uv" pip install "${UV_ARGS[@]}")
echo "installer: uv $(version uv), linking from its cache ${UV_CACHE_DIR:-~/.cache/uv}; from pip's configuration: ${UV_PIP_CONFIG[*]:-nothing}"
"${UV[@]}" -q "pip==24.2" "$(pin uv)"  # pip for `python -m pip`; uv in .venv too, as pinned

step 2 "build tools and numpy"
# Every install below uses requirements.txt as a constraint file, so a transitive
# requirement can never move a pin (seen: numpy silently upgraded to 2.x by mmdet's deps).
"${UV[@]}" -c "$REQ" "$(pin setuptools)" "$(pin wheel)" "$(pin ninja)" "$(pin psutil)" "$(pin numpy)"

step 3 "torch and torchvision (a CUDA build from PyPI, ~2.5 GB download the first time; runs on CPU)"
"${UV[@]}" -c "$REQ" "$(pin torch)" "$(pin torchvision)"

step 4 "mmcv with compiled ops (the cached wheel, or a compile: 7.6 min measured on 2 cores)"
MMCV_V="$(version mmcv)"
TORCH_V="$(version torch)"
PYTAG="cp$("$VENV/bin/python" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')"
TORCH_CUDA="$("$VENV/bin/python" -c 'import torch; print(torch.version.cuda or "")')"
NVCC_V="$(nvcc_version)"
cuda_build=0
why=""
if [ "$MMCV_CUDA" != 0 ]; then
    if [ -z "$NVCC_V" ]; then why="no nvcc (set CUDA_HOME or put nvcc on PATH)"
    elif [ -z "$TORCH_CUDA" ]; then why="torch $TORCH_V is a CPU build"
    elif [ "${NVCC_V%%.*}" != "${TORCH_CUDA%%.*}" ]; then why="nvcc $NVCC_V is not CUDA ${TORCH_CUDA%%.*}.x like torch's $TORCH_CUDA"
    elif [ "$(gpu_count)" = 0 ] && [ -z "${TORCH_CUDA_ARCH_LIST:-}" ]; then why="no GPU here (nvidia-smi) and no TORCH_CUDA_ARCH_LIST"
    else cuda_build=1
    fi
    if [ "$cuda_build" = 0 ] && [ "$MMCV_CUDA" = 1 ]; then
        echo "TRANSFER_SUITE_MMCV_CUDA=1 but mmcv cannot be built with CUDA: $why" >&2; false
    fi
    if [ "$cuda_build" = 0 ] && [ "$(gpu_count)" != 0 ]; then
        echo "WARNING: $(gpu_count) GPU(s) here, but mmcv's ops are built for the CPU only: $why." \
             "Detection on the GPU needs them (make doctor checks)." >&2
    fi
fi
WHEELS="$CACHE/wheels/mmcv-${MMCV_V}_torch-${TORCH_V}_${PYTAG}"  # the CPU build's key, as before
if [ "$cuda_build" = 1 ]; then
    ARCHS="$(gpu_archs)"
    WHEELS="${WHEELS}_cuda${NVCC_V}_sm$(echo "$ARCHS" | tr ' ;' '++')"  # never the CPU build's cache
    echo "mmcv's ops with CUDA kernels: nvcc $NVCC_V (torch's CUDA $TORCH_CUDA), TORCH_CUDA_ARCH_LIST=$ARCHS"
fi
want_cuda="$([ "$cuda_build" = 1 ] && echo yes || echo no)"
if "$VENV/bin/python" -c "import mmcv, mmcv._ext, sys; from mmcv.ops import get_compiling_cuda_version as v
sys.exit(mmcv.__version__ != '$MMCV_V' or (v() != 'not available') != ('$want_cuda' == 'yes'))" 2>/dev/null; then
    echo "mmcv $MMCV_V with ops already installed (CUDA kernels: $want_cuda)"
else
    wheel="$(ls "$WHEELS"/mmcv-*.whl 2>/dev/null | head -n1 || true)"
    if [ -z "$wheel" ]; then
        echo "no cached wheel in $WHEELS: building mmcv $MMCV_V from source (progress: one line per compiled object)"
        tmp="$(mktemp -d)"
        build_env=(MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}")
        if [ "$cuda_build" = 1 ]; then
            # torch's build finds the toolkit as nvcc_path does: CUDA_HOME, else nvcc on PATH
            build_env+=(FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$ARCHS")
        else
            build_env+=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=)  # mmcv's setup.py builds CUDA ops whenever torch sees a GPU
        fi
        # mmcv's setup.py must see torch: without --no-build-isolation it silently skips the ops.
        env "${build_env[@]}" \
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
    "${UV[@]}" --no-deps --reinstall "$wheel"
fi

step 5 "runtime requirements (pinned; constrained by requirements.txt)"
echo "(mmcv, mmengine and mmpose declare opencv-python and chumpy; they are left out on purpose: see requirements.txt)"
runtime="$(mktemp)"
grep -vE '^\s*(#|$)|no-deps|^(mmcv|torch|torchvision)==' "$REQ" | sed 's/[[:space:]]*#.*//' > "$runtime"
"${UV[@]}" -c "$REQ" -r "$runtime"
rm -f "$runtime"

step 6 "OpenMMLab toolboxes without their declared deps (see requirements.txt) and this project"
# shellcheck disable=SC2046
"${UV[@]}" --no-deps $(grep -E '^[A-Za-z].*#[[:space:]]*no-deps' "$REQ" | sed 's/[[:space:]]*#.*//')
"${UV[@]}" -q --no-deps --no-build-isolation -e "$ROOT"

step 7 "bytecode of the installed packages (python -m compileall)"
# Python writes a module's bytecode on its first import, unless PYTHONDONTWRITEBYTECODE is set
# (it is on this project's machines): then every process compiles every module it imports
# again, and importing the three toolboxes took 9.5 s instead of 3.5 s (measured on 2 cores,
# Intel Xeon, AVX-512). The suite's tests start many such processes. About 20 s, once.
"$VENV/bin/python" -m compileall -q -j 0 "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null \
    || echo "(some files did not compile; Python compiles them on import instead)"

step 8 "import check (make doctor runs the full check)"
"$VENV/bin/python" -c "import numpy, torch, mmcv, mmcv._ext; from mmcv.ops import nms, RoIAlign; import mmdet.models, mmseg.models, mmpose.models; assert numpy.__version__.startswith('1.'), numpy.__version__; print('torch', torch.__version__, '| mmcv', mmcv.__version__, '| numpy', numpy.__version__)"

echo "$want_stamp" > "$STAMP"
trap - ERR
echo "setup: done. .venv is ready ($(du -sh "$VENV" | cut -f1))."
