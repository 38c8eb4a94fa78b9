#!/usr/bin/env bash
# dunst's "dmenu" in the end-to-end tests: dunst lists the actions of the displayed notifications
# on stdin (lines like "#Approve (Approval needed) [6,approve]"); this prints the first whose
# action is the one the test asked for in $PIPEWRIGHT_E2E_WORK/want, and keeps the list it was
# offered in $PIPEWRIGHT_E2E_WORK/offered for the test to read.
set -euo pipefail
want=$(cat "$PIPEWRIGHT_E2E_WORK/want")
tee "$PIPEWRIGHT_E2E_WORK/offered" | grep -m1 -F ",$want]" || true
