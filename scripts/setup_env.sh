#!/usr/bin/env bash
# Create .venv (once) with every dependency lamina needs, pinned, offline-safe (PyPI only).
# torch==2.13.0 comes first from the CPU wheel on disk so nothing pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMP=$VENV/.lamina-installed
REQS="requirements/constraints.txt requirements/base.txt requirements/nodeps.txt pyproject.toml"
want=$(cat $REQS | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
FIND=()
[ -d /opt/wheels ] && FIND=(--find-links /opt/wheels)
"${PIP[@]}" "${FIND[@]}" torch==2.13.0
"${PIP[@]}" "${FIND[@]}" -c requirements/constraints.txt -r requirements/base.txt
"${PIP[@]}" --no-deps -c requirements/constraints.txt -r requirements/nodeps.txt
"${PIP[@]}" --no-deps -e .
"$VENV/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
echo "$want" > "$STAMP"
