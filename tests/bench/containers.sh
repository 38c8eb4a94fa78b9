#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): ten Commands actions in a row (ten stages of one)
# that each run `true` in a build container, through `pipewright run`, side by side with ten bare
# `podman run --rm IMAGE sh -c true` in the same run: what Pipewright adds around a container.
# The image is the tests' busybox one (tests/images/busybox.sh).
#   tests/bench/containers.sh            # builds the release binary first
#   PIPEWRIGHT_BIN=target/debug/pipewright tests/bench/containers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
image=localhost/pipewright-test-busybox:1
tests/images/busybox.sh "$image"
if [ -z "${PIPEWRIGHT_BIN:-}" ]; then
    cargo build --release -q -p pipewright-cli
    PIPEWRIGHT_BIN=$PWD/target/release/pipewright
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" "$image" <<'PY'
import json, sys
work, image = sys.argv[1:3]
stages = [{"name": f"s{s}", "actions": [{"name": "build",
           "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
           "commands": ["true"]}]} for s in range(10)]
json.dump({"name": "boxes", "pipelineType": "V2", "stages": stages}, open(f"{work}/boxes.json", "w"))
open(f"{work}/boxes.pipewright.yaml", "w").write(f"environment: {{image: '{image}'}}\n")
PY
export PIPEWRIGHT_DATA_DIR=$work/data
now() { date +%s.%N; }
# One run of each first, so neither pays for a cold page cache or the first database.
podman run --rm "$image" sh -c true
"$PIPEWRIGHT_BIN" run "$work/boxes.json" >/dev/null 2>&1
for round in 1 2 3; do
    t0=$(now)
    for _ in 1 2 3 4 5 6 7 8 9 10; do podman run --rm "$image" sh -c true; done
    t1=$(now)
    "$PIPEWRIGHT_BIN" run "$work/boxes.json" >/dev/null 2>&1
    t2=$(now)
    python3 -c "import sys; t0, t1, t2 = map(float, sys.argv[1:4]); bare, pw = t1 - t0, t2 - t1
print(f'round {sys.argv[4]}: 10 x podman run: {bare:.2f} s; pipewright run (10 container actions in a row): {pw:.2f} s; ratio {pw / bare:.2f}x (goal: at most 1.25x)')" "$t0" "$t1" "$t2" "$round"
done
left=$(podman ps --all --filter label=pipewright.engine --format '{{.Names}}' | wc -l)
echo "containers left with a pipewright label: $left"
