#!/usr/bin/env bash
# The whole test suite, setup included: system tools (when root and missing),
# a virtualenv with linkgate and its test extras, then lint, types and tests.
# Arguments go to pytest. Sourcing this file defines the functions without running anything.
set -euo pipefail

APT_PACKAGES=(gcc g++ libc6-dev binutils golang-go musl musl-tools pax-utils file checksec devscripts
              tar zip unzip xz-utils zstd bzip2 dpkg rpm umoci skopeo)
# Machine floors: qemu-x86_64 -cpu, qemu-aarch64 -p (tests/rules/test_machine_floors.py).
APT_PACKAGES+=(qemu-user)
# Android: libraries linked for <abi>-linux-android<api>, APKs aligned and signed with the real tools.
APT_PACKAGES+=(clang lld zipalign apksigner)
# Android manifests: binary XML compiled by aapt against the framework's attributes, a bundle's protobuf by protoc.
APT_PACKAGES+=(aapt android-framework-res protobuf-compiler)
# The GitHub step summary rendered as GitHub does (cmark-gfm) and screenshotted (tests/formats/test_step_summary.py).
APT_PACKAGES+=(cmark-gfm chromium fonts-noto-color-emoji)
# The README's install command as a fresh machine runs it (venv); shell completions loaded by real shells.
APT_PACKAGES+=(python3-venv zsh fish)

# Installs the missing ones when root; otherwise names them and stops (exit 2).
install_system_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing system packages: ${missing[*]} (install them as root)" >&2
    exit 2
  fi
}

# A virtualenv is usable when its python runs and has pip. An interrupted `python3 -m venv`
# (or one run without ensurepip) leaves a directory that is neither: every rerun would fail.
venv_usable() {
  [ -x "$1/bin/python" ] && "$1/bin/python" -m pip --version >/dev/null 2>&1
}

# Makes $1 a usable virtualenv: kept when usable, recreated when half-made. A directory that is
# not a virtualenv at all (no pyvenv.cfg) is never emptied: stop and say so (exit 2).
ensure_venv() {
  local venv=$1
  venv_usable "$venv" && return 0
  if [ -e "$venv" ] && [ -n "$(ls -A "$venv" 2>/dev/null)" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
    echo "$venv exists and is not a virtualenv: remove it or set LINKGATE_VENV" >&2
    exit 2
  fi
  if [ -e "$venv" ]; then
    echo "$venv is a half-made virtualenv (no working python with pip): recreating it" >&2
  fi
  # Without ensurepip (Debian's python3 without python3-venv) venv makes exactly such a half.
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    install_system_packages python3-venv
  fi
  python3 -m venv --clear "$venv"
  if ! venv_usable "$venv"; then
    echo "python3 -m venv made $venv without pip: install python3-venv (or a Python with ensurepip)" >&2
    exit 2
  fi
}

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  install_system_packages "${APT_PACKAGES[@]}"

  VENV=${LINKGATE_VENV:-.venv}
  case $VENV in /*) ;; *) VENV="$PWD/$VENV" ;; esac
  ensure_venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e '.[test]'
  if [ -x .ci/install-ci-tools.sh ]; then
    .ci/install-ci-tools.sh "$VENV"
  fi

  export PATH="$VENV/bin:$PATH"
  ruff check .
  ruff format --check .
  mypy
  python scripts/check_layers.py
  pytest "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
