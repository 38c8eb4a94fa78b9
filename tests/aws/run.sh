#!/usr/bin/env bash
# Pipewright and AWS protocols, with real parts from PyPI in a virtual environment this script
# creates (.venv-test, reused when there): `pipewright serve` driven by boto3 and the AWS CLI, and
# the AWS backend (`pipewright --aws`) against moto, a real AWS-protocol server.
#   tests/aws/run.sh        # expects the debug CLI built (pipewright.sh test builds it)
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="$PWD/.venv-test"
if [ ! -x "$venv/bin/aws" ] || [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check awscli boto3 'moto[server]'
fi

export PIPEWRIGHT_CLI="${CARGO_TARGET_DIR:-$PWD/target}/debug/pipewright"
export PATH="$venv/bin:$PATH"
exec "$venv/bin/python" -m unittest -v tests/aws/serve_test.py tests/aws/moto_test.py
