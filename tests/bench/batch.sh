#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): a batch build of 12 matrix builds (one CodeBuild
# action with BatchEnabled) against the same 12 builds run one by one (12 CodeBuild actions in
# 12 run orders), each build `sleep $SLEEP` (0.2 s by default) and writing a file, on this
# machine. Three rounds each, alternated, each with a new data directory.
#   tests/bench/batch.sh                # builds the release binary first
#   PIPEWRIGHT_BIN=target/debug/pipewright SLEEP=0 tests/bench/batch.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PIPEWRIGHT_BIN:-}" ]; then
    cargo build --release -q -p pipewright-cli
    PIPEWRIGHT_BIN=$PWD/target/release/pipewright
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" "$PIPEWRIGHT_BIN" "${SLEEP:-0.2}" <<'PY'
import json, os, subprocess, sys, time
work, binary, pause = sys.argv[1:4]
src = os.path.join(work, "src")
os.makedirs(src)
values = ["a", "b", "c", "d", "e", "f"]
with open(os.path.join(src, "buildspec.yml"), "w") as f:
    f.write(f"""version: 0.2
batch:
  build-matrix:
    dynamic:
      env:
        variables:
          PART: [{", ".join(values)}]
          MODE: [debug, release]
phases:
  build:
    commands:
      - sleep {pause}
      - echo "$PART $MODE" > built.txt
""")
def source():
    return {"name": "Source", "actions": [{"name": "Src",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "outputArtifacts": [{"name": "Src"}]}]}
def build(name, run_order, config):
    return {"name": name, "runOrder": run_order,
        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": "bench", **config}, "inputArtifacts": [{"name": "Src"}]}
batched = {"name": "batched", "pipelineType": "V2", "stages": [source(),
    {"name": "Build", "actions": [build("All", 1, {"BatchEnabled": "true"})]}]}
env_of = lambda part, mode: json.dumps([{"name": "PART", "value": part}, {"name": "MODE", "value": mode}])
one_by_one = {"name": "one-by-one", "pipelineType": "V2", "stages": [source(),
    {"name": "Build", "actions": [
        build(f"B{i + 1}", i + 1, {"EnvironmentVariables": env_of(part, mode)})
        for i, (part, mode) in enumerate((p, m) for p in values for m in ["debug", "release"])]}]}
# The one-by-one builds run the same buildspec without its batch section.
with open(os.path.join(src, "single.yml"), "w") as f:
    f.write(f"version: 0.2\nphases:\n  build:\n    commands:\n      - sleep {pause}\n      - echo \"$PART $MODE\" > built.txt\n")
for pipeline, settings in [(batched, "actions:\n  Source/Src: {path: src}\n"),
                           (one_by_one, "actions:\n  Source/Src: {path: src}\n" + "".join(
                               f"  Build/B{i + 1}: {{buildspec: src/single.yml}}\n" for i in range(12)))]:
    with open(os.path.join(work, pipeline["name"] + ".json"), "w") as f:
        json.dump(pipeline, f)
    with open(os.path.join(work, pipeline["name"] + ".pipewright.yaml"), "w") as f:
        f.write(settings)
times = {"batched": [], "one-by-one": []}
for round in range(3):
    for name in ["batched", "one-by-one"]:
        env = dict(os.environ, PIPEWRIGHT_DATA_DIR=os.path.join(work, f"data-{name}-{round}"))
        started = time.monotonic()
        done = subprocess.run([binary, "run", os.path.join(work, name + ".json")], env=env,
                              capture_output=True, text=True, cwd=work)
        took = time.monotonic() - started
        if done.returncode != 0:
            sys.exit(f"{name} failed: {done.stdout}{done.stderr}")
        times[name].append(took)
cores = os.cpu_count()
print(f"12 builds of `sleep {pause}`, {cores} cores, 3 rounds:")
for name, label in [("batched", "batch of 12 matrix builds"), ("one-by-one", "12 builds one by one")]:
    print(f"  {label:<28} {min(times[name]):.2f}-{max(times[name]):.2f} s")
print(f"  the batch takes {min(times['batched']) / min(times['one-by-one']):.2f}x the time of one by one (best rounds)")
PY
