#!/usr/bin/env bash
# Image layers: `linkgate check` on a generated gzip layer, the same layer as zstd and a three-layer OCI
# image, against gzip -dc, zstd -dc, each inflater decompressing alone, and tar -xzf + check of the
# unpacked tree (benchmarks/archives_layer.py says what each command is). The commands run in turn,
# round after round (benchmarks/interleaved.py): each ratio is to ISA-L's decompress-only time in the
# same round. Needs gzip, zstd, and isal and zlib-ng installed ('.[fast]').
#
# The layers are generated once into tests/.build/bench-layer (DIR=...; MEGABYTES=800 of /usr unpacked).
# YARDSTICK=/path/to/another/checkout adds its `linkgate check` of both layers (e.g. the main branch).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DIR:-tests/.build/bench-layer}
MEGABYTES=${MEGABYTES:-800}
OUT=${OUT:-benchmarks/results}
ROUNDS=${ROUNDS:-5}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
if [ ! -s "$DIR/layer.tar.gz" ] || [ ! -s "$DIR/layer.tar.zst" ] || [ ! -s "$DIR/oci/index.json" ]; then
  "$PYTHON" benchmarks/archives_layer.py generate --megabytes "$MEGABYTES" --dir "$DIR"
fi
ls -l "$DIR"/layer.tar.gz "$DIR"/layer.tar.zst
yardstick=()
if [ -n "${YARDSTICK:-}" ]; then
  yardstick=(--yardstick "$YARDSTICK")
fi
mapfile -t commands < <("$PYTHON" benchmarks/archives_layer.py commands --dir "$DIR" "${yardstick[@]}")
"$PYTHON" -m benchmarks.interleaved "$OUT/archives_layer.json" "$ROUNDS" "${commands[@]}"
