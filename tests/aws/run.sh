#!/usr/bin/env bash
# Pipewright and AWS protocols, with real parts from PyPI in a virtual environment this script
# creates (.venv-test, reused when there): `pipewright serve` driven by boto3 and the AWS CLI, and
# the AWS backend (`pipewright --aws`) against moto, a real AWS-protocol server.
#   tests/aws/run.sh        # expects the debug CLI built (pipewright.sh test builds it)
set -euo pipefail
cd "$(dirname "$0")/../.."

source tests/aws/venv.sh
export PIPEWRIGHT_CLI="${CARGO_TARGET_DIR:-$PWD/target}/debug/pipewright"
cd tests/aws
exec "$venv/bin/python" -m unittest -v serve_test.py moto_test.py pull_test.py
