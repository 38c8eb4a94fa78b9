# Sourced by the AWS-protocol tests and benchmarks: the virtual environment with the real clients
# and servers from PyPI (awscli, boto3, moto), created on first use in .venv-test and reused.
venv="$PWD/.venv-test"
if [ ! -x "$venv/bin/aws" ] || [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check awscli boto3 'moto[server]'
fi
export PATH="$venv/bin:$PATH"
