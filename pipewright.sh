#!/usr/bin/env bash
# The two commands of the README:
#   ./pipewright.sh        set up this machine, build, and open the desktop app with the examples
#   ./pipewright.sh test   set up this machine and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

target="${CARGO_TARGET_DIR:-$PWD/target}"

setup() {
    # System packages the build and the tests use (the desktop app's WebKitGTK, the tray's
    # appindicator, Xvfb, D-Bus, dunst and WebKitWebDriver for its end-to-end tests). Installed
    # only when missing, so a machine that has them starts at once.
    local missing=()
    for tool in git cc sh tar python3 zip unzip curl pkg-config xvfb-run dbus-run-session dunst WebKitWebDriver; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    for lib in webkit2gtk-4.1 ayatana-appindicator3-0.1 librsvg-2.0 xdo; do
        pkg-config --exists "$lib" 2>/dev/null || missing+=("$lib")
    done
    # The AWS-protocol tests install boto3 and the AWS CLI into a virtual environment.
    python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing system packages for: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends git build-essential tar python3 zip unzip \
            curl pkg-config file libwebkit2gtk-4.1-dev libxdo-dev libssl-dev \
            libayatana-appindicator3-dev librsvg2-dev xvfb xauth webkit2gtk-driver dbus dbus-x11 \
            dunst python3-venv procps >/dev/null
    fi
    setup_containers
    if ! command -v cargo >/dev/null 2>&1; then
        echo "Rust (cargo) is needed: install it with rustup (https://rustup.rs) and run this again." >&2
        exit 1
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "Node.js 20.19 or newer (with npm) is needed for the app's UI: install it and run this again." >&2
        exit 1
    fi
    # The UI's packages, exactly as package-lock.json pins them; again only when they changed.
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        npm ci --no-audit --no-fund
    fi
}

# Podman runs the builds that name an image, and the tests' build image is made from busybox-static.
# Two adjustments these machines need (see the README's "Build environments"): runc instead of
# crun, which fails on hybrid cgroups, and ulimits the runtime may set. A containers.conf the user
# already has is theirs and is left alone.
setup_containers() {
    local missing=()
    for tool in podman runc; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing container packages for: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends podman runc busybox-static >/dev/null
    fi
    if [ ! -f /etc/containers/containers.conf ]; then
        mkdir -p /etc/containers
        cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
    fi
}

# The UI bundle is compiled into the app binary, so it is built first.
build_app() {
    npm run build:ui
    cargo build -p pipewright-desktop -p pipewright-cli
}

# The examples, in the data directory the app opens, unless they are there already.
load_examples() {
    local cli="$target/debug/pipewright" file name
    for file in examples/*/pipeline.json examples/*/pipeline.yaml; do
        [ -f "$file" ] || continue
        name=$("$cli" validate "$file" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["pipeline"])')
        "$cli" export "$name" >/dev/null 2>&1 || "$cli" import "$file" >/dev/null
    done
}

case "${1:-run}" in
    run)
        setup
        build_app
        export PIPEWRIGHT_DATA_DIR="${PIPEWRIGHT_DATA_DIR:-$PWD/.pipewright}"
        load_examples
        if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
            echo "The desktop app needs a display. On a machine without one: xvfb-run ./pipewright.sh" >&2
            echo "The same pipelines run without a window: $target/debug/pipewright run examples/parallel/pipeline.json" >&2
            exit 1
        fi
        exec "$target/debug/pipewright-desktop"
        ;;
    test)
        setup
        npm run check:ui
        npm run test:ui
        npx tsc --noEmit -p tests
        cargo fmt --all -- --check
        build_app
        cargo clippy --workspace --all-targets -- -D warnings
        if cargo nextest --version >/dev/null 2>&1; then
            cargo nextest run --workspace --no-fail-fast
        else
            cargo test --workspace --no-fail-fast
        fi
        tests/aws/run.sh
        command -v tauri-driver >/dev/null 2>&1 || cargo install tauri-driver --version '^2' --locked
        tests/e2e/run.sh
        ;;
    *)
        echo "usage: $0 [run|test]" >&2
        exit 2
        ;;
esac
