#!/usr/bin/env bash
# Wheels as downloaded: `linkgate check` over >= 40 real binary wheels (>= 1 GB unpacked), against
# `auditwheel show` on the same wheels and against unzip + `linkgate check` of the unpacked tree,
# in one hyperfine run on the same machine. Needs hyperfine and unzip.
#
# The wheels are fetched once with `pip download --only-binary=:all: --platform manylinux2014_x86_64`
# into tests/.build/bench-archives/wheels (override with WHEELS=DIR). linkgate and auditwheel are installed
# (non-editable) into tests/.build/bench-archives/venv (VENV=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=${WHEELS:-tests/.build/bench-archives/wheels}
OUT=${OUT:-benchmarks/results}
RUNS=${RUNS:-5}
VENV=${VENV:-tests/.build/bench-archives/venv}
mkdir -p "$WHEELS" "$OUT" "$(dirname "$VENV")"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q '.[zstd]' auditwheel
fi
# This checkout's linkgate, whatever an earlier run installed.
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps .
PYTHON=$VENV/bin/python
# The console script: `python -m linkgate` from this directory would import the source tree, not the install.
LINKGATE=$VENV/bin/linkgate

# Popular projects with compiled extensions; one wheel each, for CPython 3.11 on x86_64.
PROJECTS=(numpy scipy pyarrow opencv-python-headless pillow pandas scikit-learn matplotlib lxml
  cryptography grpcio h5py shapely pyzmq psycopg2-binary orjson pydantic-core regex kiwisolver
  contourpy tokenizers onnxruntime llvmlite polars duckdb pymupdf xgboost scikit-image pywavelets
  msgpack ujson zstandard lz4 brotli cffi pyyaml markupsafe greenlet uvloop httptools psutil bcrypt
  rpds-py numexpr tables statsmodels pyproj)
if [ "$(find "$WHEELS" -name '*.whl' | wc -l)" -lt 40 ]; then
  for project in "${PROJECTS[@]}"; do
    "$PYTHON" -m pip download -q --only-binary=:all: --no-deps --platform manylinux2014_x86_64 \
      --python-version 3.11 -d "$WHEELS" "$project" || echo "skipped $project" >&2
  done
fi
count=$(find "$WHEELS" -name '*.whl' | wc -l)
unpacked=$("$PYTHON" - "$WHEELS" <<'PY'
import sys, zipfile, pathlib
print(sum(i.file_size for w in pathlib.Path(sys.argv[1]).glob("*.whl") for i in zipfile.ZipFile(w).infolist()))
PY
)
echo "wheels: $count, $(du -sh "$WHEELS" | cut -f1) as downloaded, $((unpacked / 1000000)) MB unpacked"

UNPACKED=$(mktemp -d)
trap 'rm -rf "$UNPACKED"' EXIT
# Exit status 1 is possible (a wheel's findings), so -i. No --policy: each wheel is judged by its own tag.
hyperfine -N -i -w 1 -r "$RUNS" --export-json "$OUT/archives.json" \
  -n "linkgate check (wheels in place)" "$LINKGATE check $WHEELS" \
  -n "unzip + linkgate check (unpacked)" \
  "bash -c 'rm -rf $UNPACKED/t && mkdir $UNPACKED/t && for w in $WHEELS/*.whl; do unzip -qo \$w -d $UNPACKED/t/\$(basename \$w); done && $LINKGATE check --policy manylinux2014 $UNPACKED/t'" \
  -n "auditwheel show (each wheel)" \
  "bash -c 'for w in $WHEELS/*.whl; do $VENV/bin/auditwheel show \$w >/dev/null 2>&1 || true; done'"
