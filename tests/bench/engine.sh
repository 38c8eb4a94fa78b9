#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): 1,000 actions that run `true`, as 10 stages of
# 100 parallel actions, through `pipewright run`, side by side with `make -j N` running the same
# commands through `sh -c` with the same stage barriers (N = the actions Pipewright runs at once).
# Then the floor under it: the same 1,000 shells started with nothing recorded
# (crates/engine/tests/spawn_floor.rs), so what Pipewright adds is seen apart from what the
# shells and the way of starting them cost on this machine.
#   tests/bench/engine.sh            # builds the release binary first
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p pipewright-cli
# Run straight, not through `cargo test`: cargo sets LD_LIBRARY_PATH for tests, and every shell
# would then look for libc in the target directory first (about 0.1 s over 1,000 shells).
floor_bin=$(cargo test -q -p pipewright-engine --release --test spawn_floor --no-run --message-format=json |
  python3 -c 'import json, sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][0])')
bin=$PWD/target/release/pipewright
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jobs=$(nproc)
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
stages = []
for s in range(10):
    actions = [{"name": f"a{a}", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                "commands": ["true"]} for a in range(100)]
    stages.append({"name": f"s{s}", "actions": actions})
json.dump({"name": "bench", "pipelineType": "V2", "stages": stages}, open(f"{work}/bench.json", "w"))
with open(f"{work}/Makefile", "w") as m:
    m.write("SHELL = /bin/sh\nall: s9\n")
    for s in range(10):
        deps = f"s{s-1}" if s else ""
        m.write(f"s{s}: {' '.join(f's{s}a{a}' for a in range(100))}\n")
        for a in range(100):
            m.write(f"s{s}a{a}: {deps}\n\t@sh -c true\n")
    m.write(".PHONY: all " + " ".join(f"s{s}" for s in range(10)) + "\n")
PY
export PIPEWRIGHT_DATA_DIR=$work/data
now() { date +%s.%N; }
t0=$(now); make -s -j"$jobs" -C "$work" >/dev/null; t1=$(now)
t2=$(now); "$bin" run "$work/bench.json" >/dev/null; t3=$(now)
floor=$("$floor_bin" --ignored --nocapture | grep '^floor')
python3 - "$t0" "$t1" "$t2" "$t3" "$jobs" "$floor" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
make, pw = t1 - t0, t3 - t2
print(f"make -j{sys.argv[5]} (1000 x sh -c true, 10 barriers): {make:.3f} s")
print(f"pipewright run (1000 Commands actions, 10 stages, start-up included): {pw:.3f} s")
print(f"ratio pipewright/make: {pw / make:.2f}x (goal: at most 1.25x)")
for line in sys.argv[6].splitlines():
    seconds = float(line.rsplit(": ", 1)[1].split()[0])
    print(f"{line} ({seconds / make:.2f}x make)")
PY
# Events stored per second under the same load, and the delay to a subscriber.
cargo test -q -p pipewright-api --release --test events_bench -- --ignored --nocapture 2>&1 | grep -E "events stored|delay"
