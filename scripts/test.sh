#!/usr/bin/env bash
# The whole test suite, setup included: system tools (when root and missing),
# a virtualenv with linkgate and its test extras, then lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc g++ libc6-dev binutils golang-go musl-tools pax-utils file checksec devscripts)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing system packages: ${missing[*]} (install them as root)" >&2
    exit 2
  fi
fi

VENV=${LINKGATE_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e '.[test]'
if [ -x .ci/install-ci-tools.sh ]; then
  .ci/install-ci-tools.sh "$VENV"
fi

export PATH="$PWD/$VENV/bin:$PATH"
ruff check .
ruff format --check .
mypy
python scripts/check_layers.py
pytest "$@"
