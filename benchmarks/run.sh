#!/usr/bin/env bash
# One run, same machine, same warm page cache: linkgate against scanelf and an
# auditwheel-style pyelftools reader over the host's ELF trees, plus one-binary
# latency and memory against the number of files. Needs hyperfine, scanelf
# (pax-utils) and GNU time (apt: hyperfine pax-utils time).
#
# linkgate is measured as users get it: a non-editable `pip install .` into a
# fresh venv (pip byte-compiles it there; an editable checkout under
# PYTHONDONTWRITEBYTECODE=1 would recompile every module on every start).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  VENV=benchmarks/.venv
  python3 -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install -q .
  PYTHON=$VENV/bin/python
fi
# The console script, as users run it: `python -m linkgate` from this directory would import the
# source tree on the current directory instead of the installed, byte-compiled package.
LINKGATE=("$(dirname "$PYTHON")/linkgate")
TREES=(/usr/lib/x86_64-linux-gnu /usr/bin)
OUT=${OUT:-benchmarks/results}
RUNS=${RUNS:-10}
mkdir -p "$OUT"

count=$("$PYTHON" -m benchmarks.trees "${TREES[@]}")
echo "ELF files in ${TREES[*]}: $count"

# Exit status 1 is expected (findings), so -i.
# A policy every host file passes: the cost of reading and evaluating without findings to render.
PASSING=$(mktemp --suffix=.yml)
printf 'rules:\n  max-glibc: "9.99"\n  allowed-tokens: [GLIBC_PRIVATE, GLIBC_ABI_DT_RELR]\n  forbid-upx: true\n' > "$PASSING"
hyperfine -N -i -w 2 -r "$RUNS" --export-json "$OUT/trees.json" \
  -n scanelf "scanelf -qRn ${TREES[*]}" \
  -n "linkgate check (default preset)" "${LINKGATE[*]} check --policy default --format json ${TREES[*]}" \
  -n "linkgate check (passing policy)" "${LINKGATE[*]} check --policy $PASSING ${TREES[*]}"
# The same three, in turn round after round: ratios to scanelf that the VM's drift does not bend.
"$PYTHON" -m benchmarks.interleaved "$OUT/interleaved.json" "$RUNS" \
  "scanelf=scanelf -qRn ${TREES[*]}" \
  "linkgate check (default preset)=${LINKGATE[*]} check --policy default --format json ${TREES[*]}" \
  "linkgate check (passing policy)=${LINKGATE[*]} check --policy $PASSING ${TREES[*]}"
# The pyelftools peer takes half a minute a run: three runs are plenty.
hyperfine -N -i -w 0 -r 3 --export-json "$OUT/peer.json" \
  -n "pyelftools reader (auditwheel-style)" "$PYTHON -m benchmarks.pyelftools_reader ${TREES[*]}"

hyperfine -N -i -w 3 -r $((RUNS * 2)) --export-json "$OUT/one.json" \
  -n "python -c pass" "$PYTHON -c pass" \
  -n "linkgate check (1 binary)" "${LINKGATE[*]} check --policy default /usr/bin/ls"

# Peak RSS (KiB) against the number of files: flat memory means streaming.
: > "$OUT/memory.txt"
for tree in /usr/bin/ls /usr/bin /usr/lib/x86_64-linux-gnu "${TREES[*]}"; do
  # shellcheck disable=SC2086
  /usr/bin/time -f "%M" -o "$OUT/rss" "${LINKGATE[@]}" check --policy default --format json $tree >/dev/null 2>&1 || true
  echo "$tree $(tail -n 1 "$OUT/rss")" >> "$OUT/memory.txt"
done
"$PYTHON" benchmarks/summarize.py "$OUT" "$count"
