#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): requests per second and p99 latency of
# `pipewright serve` (release build) side by side with moto, both on loopback, driven by the same
# load generator (wrk, 2 threads, 16 connections, 10 s per operation) with the same signed-looking
# AWS JSON requests: ListPipelines and GetPipeline on both, GetPipelineState on serve only (moto
# does not implement it). Both hold the same 20 pipelines ($PIPELINES to change that).
#   tests/bench/serve.sh            # installs wrk if missing, builds the release binary first
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
    else
        echo "wrk is missing: sudo apt-get install wrk" >&2
        exit 1
    fi
fi
source tests/aws/venv.sh
cargo build --release -q -p pipewright-cli
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/pipewright
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
moto_port=$(free_port)
serve_port=$(free_port)
moto_server -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto=$!
PIPEWRIGHT_DATA_DIR=$work/data "$bin" serve --port "$serve_port" >/dev/null 2>&1 &
serve=$!
trap 'kill $moto $serve 2>/dev/null; rm -rf "$work"' EXIT

# The same pipelines in both (20, or $PIPELINES), created through boto3; each run once on serve.
python3 - "$moto_port" "$serve_port" "${PIPELINES:-20}" <<'PY'
import json, sys, time, urllib.request
import boto3
moto, serve = (f"http://127.0.0.1:{p}" for p in sys.argv[1:3])
count = int(sys.argv[3])
for url in (moto, serve):
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/", timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except Exception:
            time.sleep(0.2)
kwargs = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
role = boto3.client("iam", endpoint_url=moto, **kwargs).create_role(
    RoleName="pipeline", AssumeRolePolicyDocument=policy)["Role"]["Arn"]
action = lambda name: {"name": name, "actionTypeId": {"category": "Compute", "owner": "AWS",
                       "provider": "Commands", "version": "1"}, "commands": ["true"]}
for url in (moto, serve):
    client = boto3.client("codepipeline", endpoint_url=url, **kwargs)
    for n in range(count):
        client.create_pipeline(pipeline={
            "name": f"bench{n:02}", "roleArn": role, "pipelineType": "V2",
            "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": [{"name": "Build", "actions": [action("Make")]}, {"name": "Test", "actions": [action("Check")]}]})
        if url == serve:
            client.start_pipeline_execution(name=f"bench{n:02}")
PY

cat > "$work/post.lua" <<'LUA'
-- One AWS JSON 1.1 request, as the SDKs send it (the signature is not checked on loopback by
-- either server, but moto reads the service from the credential scope).
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "CodePipeline_20150709." .. os.getenv("OPERATION")
wrk.headers["X-Amz-Date"] = "20261127T120000Z"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=test/20261127/us-east-1/codepipeline/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000"
LUA

sleep 1
printf '%-10s %-18s %12s %10s %8s\n' server operation requests/s p99 errors
measure() { # server port operation body
    local out
    out=$(OPERATION=$3 BODY=$4 wrk -t"${THREADS:-2}" -c"${CONNECTIONS:-16}" -d10s --latency -s "$work/post.lua" "http://127.0.0.1:$2/")
    local rps p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    printf '%-10s %-18s %12s %10s %8s\n' "$1" "$3" "$rps" "$p99" "${errors:-0}"
}
measure moto "$moto_port" ListPipelines '{}'
measure moto "$moto_port" GetPipeline '{"name": "bench07"}'
measure serve "$serve_port" ListPipelines '{}'
measure serve "$serve_port" GetPipeline '{"name": "bench07"}'
measure serve "$serve_port" GetPipelineState '{"name": "bench07"}'
