#!/usr/bin/env bash
# What the dashboard costs a terminal and a CPU: bytes written to the pty and CPU time used,
# over 10 s idle and over 10 s with 100 async runs in flight. Runs `coze-tui demo` (release
# build) in tmux at 120x40 and reads /proc for CPU.
#
#   cargo build --release && bash benches/terminal.sh
set -euo pipefail
bin=$(realpath "${1:-target/release/coze-tui}")
sock="coze-tui-bench-$$"
out=$(mktemp -d)
tm() { tmux -L "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null || true; rm -rf "$out"' EXIT
screen() { tm capture-pane -p -t b; }
wait_for() { for _ in $(seq $(($2 * 10))); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done; echo "timed out: $1" >&2; screen >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # LABEL
    : > "$out/bytes"
    tm pipe-pane -o -t b "cat >> $out/bytes"
    local t0; t0=$(cpu_ticks "$pid")
    sleep 10
    local t1; t1=$(cpu_ticks "$pid")
    tm pipe-pane -t b
    local hz; hz=$(getconf CLK_TCK)
    printf '| %s | %s bytes | %s ms |\n' "$1" "$(wc -c < "$out/bytes")" "$(( (t1 - t0) * 1000 / hz ))"
}

tm new-session -d -s b -x 120 -y 40 "env HOME=$out TERM=xterm-256color $bin demo"
wait_for "Workflows 14/14" 20
pid=$(tm list-panes -t b -F '#{pane_pid}')
sleep 3  # past the first loads and the request counter they move
echo "| 10 s of | written to the terminal | CPU time |"
echo "|---|---|---|"
measure "idle"
tm send-keys -t b 2 g j Enter            # open `slow`
wait_for "Parameters · slow" 10
for _ in $(seq 100); do tm send-keys -t b a; done
wait_for "100/100" 30
measure "100 async runs in flight"
