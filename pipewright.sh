#!/usr/bin/env bash
# The two commands of the README:
#   ./pipewright.sh        set up this machine, build, and run an example pipeline locally
#   ./pipewright.sh test   set up this machine and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

setup() {
    # System packages the build and the tests use. Installed only when missing, so a machine
    # that has them starts at once.
    local missing=()
    for tool in git cc sh tar python3 zip unzip; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing system packages for: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends git build-essential tar python3 zip unzip >/dev/null
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "Rust (cargo) is needed: install it with rustup (https://rustup.rs) and run this again." >&2
        exit 1
    fi
}

case "${1:-run}" in
    run)
        setup
        cargo build --release -p pipewright-cli
        bin="${CARGO_TARGET_DIR:-$PWD/target}/release/pipewright"
        export PIPEWRIGHT_DATA_DIR="${PIPEWRIGHT_DATA_DIR:-$PWD/.pipewright}"
        cd examples/parallel
        exec "$bin" run pipeline.json
        ;;
    test)
        setup
        cargo fmt --all -- --check
        cargo clippy --workspace --all-targets -- -D warnings
        if cargo nextest --version >/dev/null 2>&1; then
            cargo nextest run --workspace --no-fail-fast
        else
            cargo test --workspace --no-fail-fast
        fi
        ;;
    *)
        echo "usage: $0 [run|test]" >&2
        exit 2
        ;;
esac
