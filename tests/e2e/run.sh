#!/usr/bin/env bash
# End-to-end tests of the desktop app as a person uses it: the real app binary, under Xvfb, with
# a session D-Bus and dunst as the notification server, driven through tauri-driver and
# WebKitWebDriver. Screenshots land in tests/e2e/screenshots/ (look at them).
#   tests/e2e/run.sh                  # expects the debug app and CLI built (pipewright.sh test does)
#   tests/e2e/run.sh CONFIG           # another vitest config in the same setting (the benchmarks)
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${PIPEWRIGHT_E2E_INSIDE:-}" ]; then
    export PIPEWRIGHT_E2E_INSIDE=1
    exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" "$@"
fi

target="${CARGO_TARGET_DIR:-$PWD/target}"
export PIPEWRIGHT_APP="$target/debug/pipewright-desktop"
export PIPEWRIGHT_CLI="$target/debug/pipewright"
work=$(mktemp -d)
export PIPEWRIGHT_DATA_DIR="$work/data"
# WebKit's own storage (the theme the window remembers, caches) too, so a run starts as a new
# user's window does and leaves the machine's app data alone.
export XDG_DATA_HOME="$work/xdg-data" XDG_CACHE_HOME="$work/xdg-cache"
export PIPEWRIGHT_SCREENSHOTS="$PWD/tests/e2e/screenshots"
# The app's AWS connection in the tests points at a `pipewright serve`, which takes any key.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
config="${1:-tests/e2e/vitest.config.ts}"
# On a machine with no GPU, as here, the app draws without GPU compositing
# (src-tauri/src/rendering.rs). In that mode WebKitWebDriver's clicks can wait minutes for an
# acknowledgement after the page has handled them (the window itself answers real X input at
# once: checked with xdotool), so the WebDriver suite has the app composite, in software. The
# benchmarks (another CONFIG) draw as a user without a GPU sees it, and drag with the X pointer.
if [ "$config" = tests/e2e/vitest.config.ts ]; then
    export PIPEWRIGHT_HARDWARE_ACCELERATION="${PIPEWRIGHT_HARDWARE_ACCELERATION:-always}"
fi
rm -rf "$PIPEWRIGHT_SCREENSHOTS"
mkdir -p "$PIPEWRIGHT_SCREENSHOTS"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
native=$(free_port)

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Notifications stay until a test acts on them; a test picks a notification's action through
# dunst's context menu, which runs pick-action.sh as its dmenu.
export PIPEWRIGHT_E2E_WORK="$work"
cat >"$work/dunstrc" <<CONF
[global]
    dmenu = $PWD/tests/e2e/pick-action.sh
[urgency_low]
    timeout = 0
[urgency_normal]
    timeout = 0
[urgency_critical]
    timeout = 0
CONF
dunst -config "$work/dunstrc" >"$work/dunst.log" 2>&1 &
pids+=($!)
tauri-driver --port "$port" --native-port "$native" >"$work/driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/status" >/dev/null 2>&1 && break
    sleep 0.1
done
export PIPEWRIGHT_DRIVER_URL="http://127.0.0.1:$port"

status=0
npx vitest run --config "$config" "${@:2}" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- tauri-driver log ---" >&2
    tail -50 "$work/driver.log" >&2 || true
fi
exit "$status"
