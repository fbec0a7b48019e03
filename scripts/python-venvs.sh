#!/usr/bin/env bash
# The project's Python tools, each in a venv of its own under .venv/ (gitignored), installed from PyPI at the exact
# versions of its requirements file. Reinstalls a venv only when its requirements file changed since it was made.
#   .venv/moto    test/moto/requirements.txt                moto server, the AWS emulator of the pipeline test
#   .venv/checks  scripts/template-checks/requirements.txt  cfn-lint and checkov (npm run check:template)
# Usage: bash scripts/python-venvs.sh   (needs python3 >= 3.9 with venv; PYTHON=... picks another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"

venv () {
  local dir="$1" requirements="$2" stamp
  stamp="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ -f "$dir/.requirements-sha256" ] && [ "$(cat "$dir/.requirements-sha256")" = "$stamp" ]; then
    echo "$dir: up to date with $requirements"
    return
  fi
  echo "$dir: installing $requirements"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
  echo "$stamp" > "$dir/.requirements-sha256"
}

venv .venv/moto test/moto/requirements.txt
venv .venv/checks scripts/template-checks/requirements.txt
