#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): a real-shaped pipeline with no local settings, run
# from inside its git repository with `pipewright run ci/pipeline.json --yes --json`: the time from
# starting the command to the first action's STARTED event (the plan worked out, saved, the
# pipeline imported, the execution started), and to the end of the run. Five runs, each with a new
# data directory and no settings file, so every one works out and saves the plan.
#   tests/bench/first_run.sh            # builds the release binary first
#   PIPEWRIGHT_BIN=target/debug/pipewright tests/bench/first_run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PIPEWRIGHT_BIN:-}" ]; then
    cargo build --release -q -p pipewright-cli
    PIPEWRIGHT_BIN=$PWD/target/release/pipewright
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" "$PIPEWRIGHT_BIN" <<'PY'
import json, os, subprocess, sys, time
work, binary = sys.argv[1:3]
repo = os.path.join(work, "shop")
os.makedirs(os.path.join(repo, "ci"))
def action(name, category, provider, **rest):
    return {"name": name, "actionTypeId": {"category": category, "owner": "AWS",
            "provider": provider, "version": "1"}, **rest}
pipeline = {"pipeline": {
    "name": "shop", "roleArn": "arn:aws:iam::123456789012:role/service-role/shop",
    "artifactStore": {"type": "S3", "location": "codepipeline-eu-west-1-123456789012"},
    "pipelineType": "V2", "executionMode": "QUEUED", "version": 3,
    "stages": [
        {"name": "Source", "actions": [action("App", "Source", "CodeStarSourceConnection",
            configuration={"ConnectionArn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/x",
                           "FullRepositoryId": "example/shop", "BranchName": "main", "DetectChanges": "false"},
            outputArtifacts=[{"name": "SourceOutput"}], namespace="SourceVariables")]},
        {"name": "Build", "actions": [action("Compile", "Build", "CodeBuild",
            configuration={"ProjectName": "shop-build"}, inputArtifacts=[{"name": "SourceOutput"}],
            outputArtifacts=[{"name": "BuildOutput"}])]},
        {"name": "Approve", "actions": [action("Deploy", "Deploy", "CloudFormation", namespace="StackVars",
            configuration={"ActionMode": "CREATE_UPDATE", "StackName": "shop",
                           "TemplatePath": "BuildOutput::packaged.yaml"},
            inputArtifacts=[{"name": "BuildOutput"}]),
            action("Smoke", "Test", "CodeBuild", runOrder=2, inputArtifacts=[{"name": "SourceOutput"}],
                   configuration={"ProjectName": "shop-smoke", "EnvironmentVariables": json.dumps(
                       [{"name": "API_URL", "value": "#{StackVars.ApiUrl}", "type": "PLAINTEXT"}])})]},
    ]},
    "metadata": {"pipelineArn": "arn:aws:codepipeline:eu-west-1:123456789012:shop"}}
json.dump(pipeline, open(os.path.join(repo, "ci/pipeline.json"), "w"), indent=2)
open(os.path.join(repo, "buildspec.yml"), "w").write(
    "version: 0.2\nphases:\n  build:\n    commands:\n      - echo Resources > packaged.yaml\n"
    "artifacts:\n  files: packaged.yaml\n")
for i in range(200):
    open(os.path.join(repo, f"file{i}.txt"), "w").write("x" * 1000)
git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]
subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
subprocess.run(git + ["add", "."], cwd=repo, check=True)
subprocess.run(git + ["commit", "-q", "-m", "first"], cwd=repo, check=True)
open(os.path.join(repo, "file0.txt"), "w").write("changed")
firsts, totals = [], []
for run in range(5):
    settings = os.path.join(repo, "ci/pipeline.pipewright.yaml")
    if os.path.exists(settings):
        os.remove(settings)
    env = dict(os.environ, PIPEWRIGHT_DATA_DIR=os.path.join(work, f"data{run}"), NO_COLOR="1")
    start = time.monotonic()
    child = subprocess.Popen([binary, "run", "ci/pipeline.json", "--yes", "--json"], cwd=repo, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    first = None
    for line in child.stdout:
        event = json.loads(line)
        if first is None and "Action Execution" in event.get("detail-type", "") \
                and event.get("detail", {}).get("state") == "STARTED":
            first = time.monotonic() - start
    child.wait()
    total = time.monotonic() - start
    if child.returncode != 0 or first is None:
        sys.exit(f"run {run} failed (exit {child.returncode})")
    firsts.append(first * 1000)
    totals.append(total * 1000)
firsts.sort(); totals.sort()
print(f"run FILE --yes to the first action STARTED: median {firsts[2]:.0f} ms, worst {firsts[-1]:.0f} ms "
      f"(5 runs, each with a new data directory and no settings file)")
print(f"... to the end of the run (4 actions, 1 simulated): median {totals[2]:.0f} ms, worst {totals[-1]:.0f} ms")
PY
