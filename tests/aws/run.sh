#!/usr/bin/env bash
# The CodePipeline API of `pipewright serve`, driven by independent, real clients: boto3 and the
# AWS CLI, from PyPI in a virtual environment this script creates (.venv-test, reused when there).
#   tests/aws/run.sh        # expects the debug CLI built (pipewright.sh test builds it)
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="$PWD/.venv-test"
if [ ! -x "$venv/bin/aws" ] || ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check awscli boto3
fi

export PIPEWRIGHT_CLI="${CARGO_TARGET_DIR:-$PWD/target}/debug/pipewright"
export PATH="$venv/bin:$PATH"
exec "$venv/bin/python" -m unittest -v tests/aws/serve_test.py
