#!/bin/sh
# First-run set-up, reused afterwards: npm packages and the worker's Python virtual environment.
# Called by `npm run demo` and `npm test`; safe to run again (it only installs what is missing).
set -e
cd "$(dirname "$0")/.."
if [ ! -d node_modules/zeromq ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
PY=${PYTHON:-python3}
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] creating the Python virtual environment in .venv (torch is large: this takes a few minutes once)"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
