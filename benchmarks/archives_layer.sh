#!/usr/bin/env bash
# Image layers: `linkgate check` on a generated gzip layer, the same layer as zstd and a three-layer OCI
# image, against gzip -dc, zstd -dc, each inflater decompressing alone, and tar -xzf + check of the
# unpacked tree, in one hyperfine run on the same machine (benchmarks/archives_layer.py says what each
# command is). Needs hyperfine, gzip, zstd, and isal, zlib-ng and zstandard installed ('.[fast,zstd]').
#
# The layers are generated once into tests/.build/bench-layer (DIR=...; MEGABYTES=800 of /usr unpacked).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DIR:-tests/.build/bench-layer}
MEGABYTES=${MEGABYTES:-800}
OUT=${OUT:-benchmarks/results}
RUNS=${RUNS:-5}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
if [ ! -s "$DIR/layer.tar.gz" ] || [ ! -s "$DIR/layer.tar.zst" ] || [ ! -s "$DIR/oci/index.json" ]; then
  "$PYTHON" benchmarks/archives_layer.py generate --megabytes "$MEGABYTES" --dir "$DIR"
fi
ls -l "$DIR"/layer.tar.gz "$DIR"/layer.tar.zst
args=()
while IFS=$'\t' read -r name command; do
  args+=(-n "$name" "$command")
done < <("$PYTHON" benchmarks/archives_layer.py commands --dir "$DIR")
# linkgate exits 1 (the host's binaries break the default policy): -i.
hyperfine -N -i -w 1 -r "$RUNS" --export-json "$OUT/archives_layer.json" --export-markdown "$OUT/archives_layer.md" "${args[@]}"
