#!/usr/bin/env bash
# The README's pictures, from a real run: `coze-tui demo` (the embedded simulator) in tmux,
# driven by keys like a person would, captured as text and as SVG. Run it after changing the UI:
#
#   scripts/screenshots.sh [path/to/coze-tui]     # writes assets/dashboard-*.{txt,svg}
#
# Needs tmux and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/coze-tui}")
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release)" >&2; exit 1; }
sock="coze-tui-shots-$$"
work=$(mktemp -d)
tm() { tmux -L "$sock" "$@"; }
cleanup() { tm kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { # TEXT SECONDS
    for _ in $(seq $(($2 * 10))); do
        if tm capture-pane -p -t shots | grep -qF -- "$1"; then return 0; fi
        sleep 0.1
    done
    echo "screenshots: timed out waiting for: $1" >&2
    tm capture-pane -p -t shots >&2
    exit 1
}
keys() { tm send-keys -t shots "$@"; sleep 0.3; }
# Opens a workflow by name: Workflows pane, filter, open.
open_workflow() {
    # Esc in the filter dialog clears the last filter (sent on its own: a terminal reads
    # Esc followed at once by a key as Alt and that key).
    keys 2 /
    keys Escape
    keys /
    tm send-keys -t shots -l "$1"
    keys Enter Enter
    wait_for "Parameters · $1" 10
    wait_for "✔ valid" 10
}
capture() { # NAME COLUMNS ROWS
    tm capture-pane -p -t shots > "assets/$1.txt"
    tm capture-pane -e -p -t shots > "$work/$1.ansi"
    python3 scripts/ansi2svg.py "$work/$1.ansi" "$2" "$3" > "assets/$1.svg"
    echo "wrote assets/$1.txt and assets/$1.svg"
}

tm new-session -d -s shots -x 120 -y 36 \
    "env -i PATH=$PATH HOME=$work TMPDIR=$work TERM=xterm-256color COLORTERM=truecolor $bin demo"
wait_for "Workflows 14/14" 20
open_workflow chatty
keys w
wait_for "✔ succeeded" 20
open_workflow fails
keys s
wait_for "✘ failed" 20
open_workflow asks
keys w
wait_for "? interrupted" 20
# The question in the Detail pane, the task selected in Tasks; no filter left in Workflows.
keys 2 /
keys Escape
keys 4 g Enter
wait_for "question" 10
capture dashboard-120x36 120 36

# Small terminals get one pane at a time, with tabs.
tm resize-window -t shots -x 80 -y 24
keys 4
wait_for "[4 Tasks" 10
capture dashboard-80x24 80 24
keys q
