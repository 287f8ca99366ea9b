#!/usr/bin/env bash
# Build -> gate -> upload: a release pipeline with linkgate between the build and the upload.
#
# The upload runs only when `linkgate check` exits 0. Exit 1 (the binaries break the policy) and
# exit 2 (the gate could not evaluate: bad policy, missing path, no ELF file in $DIST) stop the
# script with that code, because of `set -e`; so does a failing build. Quiet when all is well, one
# line per finding when not.
#
# Settings, from the environment:
#   DIST        directory of the built artifacts             (default: dist)
#   BUILD_CMD   how to build into $DIST                      (default: a cgo Go build, as in the
#               incident linkgate exists for: built on a new glibc, run on an old server)
#   POLICY      policy file or preset for linkgate           (default: the nearest linkgate.yml,
#               else the built-in default preset)
#   UPLOAD_CMD  how to ship $DIST                            (default: rsync to the server)
set -euo pipefail

DIST=${DIST:-dist}
# Single quotes on purpose: $DIST expands when `bash -c` runs the command, not here.
# shellcheck disable=SC2016
BUILD_CMD=${BUILD_CMD:-'CGO_ENABLED=1 go build -trimpath -o "$DIST/app" .'}
# shellcheck disable=SC2016
UPLOAD_CMD=${UPLOAD_CMD:-'rsync -a "$DIST/" deploy@server:/srv/app/'}
export DIST

echo "build: $BUILD_CMD" >&2
mkdir -p "$DIST"
bash -c "$BUILD_CMD"

linkgate check ${POLICY:+--policy "$POLICY"} "$DIST"

echo "upload: $UPLOAD_CMD" >&2
bash -c "$UPLOAD_CMD"
