#!/usr/bin/env bash
# Benchmarks of the desktop app (prints figures, asserts nothing about them): cold start to first
# paint, resident memory with 100 pipelines and 1,000 executions, the delay from an engine state
# change to the window showing it, and frame times while dragging in a 50 x 50 pipeline (the drag
# made with the X server's own pointer, as a mouse makes it).
# Runs the debug app, as ./pipewright.sh does, in the end-to-end tests' Xvfb setting.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The drag is made with the X server's pointer, through xdotool.
if ! command -v xdotool >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xdotool >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xdotool >/dev/null; }
fi
npm run build:ui >/dev/null
cargo build -q -p pipewright-desktop -p pipewright-cli
exec tests/e2e/run.sh tests/bench/vitest.config.ts
