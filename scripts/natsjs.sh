#!/usr/bin/env bash
# Runs the official nats.js client test suite (the ../shared/natsjs harness)
# against tsnats and compares the result with nats-server 2.9.10's
# (docs/compatibility.md). The server under test is a build of one commit in
# its own worktree, so rebuilds of dist/ in this checkout cannot change the
# binary halfway through a run.
#
#   scripts/natsjs.sh                        # core unsafe services over TCP, then core services over websocket
#   scripts/natsjs.sh core/tests/auth_test.ts   # one file (TCP only)
#
# Environment: NATSJS_DIR (nats.js checkout), DENO (deno binary) as the
# harness wants them; HARNESS (default ../shared/natsjs), REV (default HEAD),
# OUT (results folder, default /tmp/tsnats-natsjs), WEBSOCKET=0 to skip the
# websocket pass.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${HARNESS:-$REPO/../shared/natsjs}
REV=${REV:-HEAD}
OUT=${OUT:-/tmp/tsnats-natsjs}
: "${NATSJS_DIR:?set NATSJS_DIR to the nats.js checkout}" "${DENO:?set DENO to the deno binary}"
export NATSJS_DIR DENO

mkdir -p "$OUT"
TREE=$(mktemp -d "$OUT/tree.XXXXXX")
cleanup() { git -C "$REPO" worktree remove --force "$TREE" >/dev/null 2>&1 || rm -rf "$TREE"; }
trap cleanup EXIT
git -C "$REPO" worktree add --detach "$TREE" "$REV" >/dev/null
ln -s "$REPO/node_modules" "$TREE/node_modules"
# the package's bin (bundled launcher), what users run: start-up time matters to
# the suites' launcher, which gives a server 5 s to listen
(cd "$TREE" && npm run build --silent >/dev/null)
BIN=$TREE/dist/src/tsnats.cjs
echo "tsnats $(git -C "$TREE" rev-parse --short HEAD): $BIN"

status=0
if [ $# -gt 0 ]; then
  RESULTS=$OUT/tcp.txt "$HARNESS/run.sh" "$BIN" "$@" || true
  node "$HARNESS/compare-results.mjs" "$HARNESS/baseline-nats-server-2.9.10.txt" "$OUT/tcp.txt" || status=1
  exit $status
fi
RESULTS=$OUT/tcp.txt "$HARNESS/run.sh" "$BIN" core unsafe services || true
node "$HARNESS/compare-results.mjs" "$HARNESS/baseline-nats-server-2.9.10.txt" "$OUT/tcp.txt" || status=1
if [ "${WEBSOCKET:-1}" != 0 ]; then
  NATSJS_WEBSOCKET=1 RESULTS=$OUT/websocket.txt "$HARNESS/run.sh" "$BIN" core services || true
  node "$HARNESS/compare-results.mjs" "$HARNESS/baseline-nats-server-2.9.10-websocket.txt" "$OUT/websocket.txt" || status=1
fi
exit $status
