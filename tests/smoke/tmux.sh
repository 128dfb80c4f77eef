#!/usr/bin/env bash
# Smoke test in a real terminal: starts `coze-tui demo` inside tmux, opens a workflow, runs it
# streaming with keys, waits for it to succeed, quits, and checks that the shell got its
# terminal back in cooked mode (icanon, echo) on the main screen.
#
#   tests/smoke/tmux.sh [path/to/coze-tui]
set -euo pipefail
bin=$(realpath "${1:-target/debug/coze-tui}")
sock="coze-tui-smoke-$$"
out=$(mktemp -d)
tm() { tmux -L "$sock" "$@"; }
cleanup() { tm kill-server 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT

screen() { tm capture-pane -p -t smoke; }
wait_grep() { # GREP-FLAGS TEXT SECONDS
    for _ in $(seq $(($3 * 10))); do
        if screen | grep -q"$1" -- "$2"; then return 0; fi
        sleep 0.1
    done
    echo "smoke: timed out waiting for: $2" >&2
    screen >&2
    return 1
}
wait_for() { wait_grep F "$@"; }   # TEXT SECONDS: the text anywhere on screen
# The shell's own output line (the typed command shows the same words earlier).
wait_line() { wait_grep x "$@"; }  # LINE SECONDS

mkdir -p "$out/tmp"
# A demo directory left by a process that is gone: the next demo removes it.
mkdir -p "$out/tmp/coze-tui-demo-4194303-deadbeef"
# No history file: the shell writes one as it is killed, racing the cleanup.
tm new-session -d -s smoke -x 120 -y 40 "env -i PATH=$PATH HOME=$out TMPDIR=$out/tmp HISTFILE=/dev/null TERM=xterm-256color bash --norc --noprofile"
tm send-keys -t smoke "stty -a > $out/before; $bin demo; stty -a > $out/after; echo SMOKE-DONE" Enter
wait_for "Workflows 18/18" 20
tm send-keys -t smoke 2 g Enter          # focus Workflows, first one (echo), open it
wait_for "Parameters · echo" 10
wait_for "input: string" 10              # its schema (requests are paced by the profile's qps)
tm send-keys -t smoke w                  # run it streaming
wait_for "✔ succeeded" 20
screen | grep -qF '"input": "hello"' || { echo "smoke: no output shown" >&2; screen >&2; exit 1; }
tm send-keys -t smoke q
wait_line "SMOKE-DONE" 10
grep -qw -- "icanon" "$out/after" && ! grep -qw -- "-icanon" "$out/after" || { echo "smoke: terminal left in raw mode" >&2; cat "$out/after" >&2; exit 1; }
grep -qw -- "echo" "$out/after" && ! grep -qw -- "-echo" "$out/after" || { echo "smoke: echo left off" >&2; exit 1; }
cmp -s <(tr ' ' '\n' < "$out/before" | sort) <(tr ' ' '\n' < "$out/after" | sort) || { echo "smoke: stty settings changed" >&2; diff "$out/before" "$out/after" >&2; exit 1; }
if screen | grep -qF "Workspaces"; then echo "smoke: the dashboard is still on screen" >&2; screen >&2; exit 1; fi

# Ctrl-Z hands the terminal back to the shell in cooked mode; `fg` brings the dashboard back.
tm send-keys -t smoke "clear; $bin demo" Enter
wait_for "Workflows 18/18" 20
tm send-keys -t smoke C-z
wait_for "Stopped" 10
tm send-keys -t smoke "stty -a > $out/suspended; echo SUSPENDED-OK" Enter
wait_line "SUSPENDED-OK" 10
grep -qw -- "icanon" "$out/suspended" && ! grep -qw -- "-icanon" "$out/suspended" || { echo "smoke: raw mode while suspended" >&2; exit 1; }
tm send-keys -t smoke "fg" Enter
wait_for "Workflows 18/18" 20
tm send-keys -t smoke q
for _ in $(seq 100); do screen | grep -qF "Workspaces" || break; sleep 0.1; done
if screen | grep -qF "Workspaces"; then echo "smoke: the dashboard did not quit after fg" >&2; screen >&2; exit 1; fi

# SIGTERM (a closed SSH session's shell passes on SIGHUP/SIGTERM) restores the terminal too.
# `exec` keeps the PID the shell wrote down, and the demo in the foreground of the terminal.
tm send-keys -t smoke "clear; sh -c 'echo \$\$ > $out/pid; exec $bin demo'; stty -a > $out/after-term; echo TERM-DONE" Enter
wait_for "Workflows 18/18" 20
# This demo's own process, by its PID (never every matching process on the machine).
pid=$(cat "$out/pid")
kill -TERM "$pid" || { echo "smoke: no coze-tui process $pid to signal" >&2; exit 1; }
wait_line "TERM-DONE" 10
grep -qw -- "icanon" "$out/after-term" && ! grep -qw -- "-icanon" "$out/after-term" || { echo "smoke: raw mode left after SIGTERM" >&2; exit 1; }
[ ! -e "$out/tmp/coze-tui-demo-4194303-deadbeef" ] || { echo "smoke: a stale demo directory was left" >&2; exit 1; }

# SIGINT and SIGQUIT from outside (in raw mode Ctrl-C is a key, so these come from `kill`).
for sig in INT QUIT; do
    tm send-keys -t smoke "clear; sh -c 'echo \$\$ > $out/pid; exec $bin demo'; stty -a > $out/after-$sig; echo $sig-DONE" Enter
    wait_for "Workflows 18/18" 20
    kill -"$sig" "$(cat "$out/pid")"
    wait_line "$sig-DONE" 10
    grep -qw -- "icanon" "$out/after-$sig" && ! grep -qw -- "-icanon" "$out/after-$sig" || { echo "smoke: raw mode left after SIG$sig" >&2; exit 1; }
done
leftover() { find "$out/tmp" -maxdepth 1 -name 'coze-tui-demo-*' | wc -l; }
[ "$(leftover)" -eq 0 ] || { echo "smoke: a demo directory was left behind" >&2; ls "$out/tmp" >&2; exit 1; }

# The terminal goes away (a dropped SSH connection): the demo ends and cleans up anyway.
tm new-session -d -s vanish -x 100 -y 30 "env -i PATH=$PATH HOME=$out TMPDIR=$out/tmp TERM=xterm-256color $bin demo"
for _ in $(seq 200); do tm capture-pane -p -t vanish 2>/dev/null | grep -qF "Workflows 18/18" && break; sleep 0.1; done
[ "$(leftover)" -eq 1 ] || { echo "smoke: the demo did not start" >&2; exit 1; }
tm kill-session -t vanish
for _ in $(seq 100); do [ "$(leftover)" -eq 0 ] && break; sleep 0.1; done
[ "$(leftover)" -eq 0 ] || { echo "smoke: the demo directory stayed after its terminal vanished" >&2; ls "$out/tmp" >&2; exit 1; }
# The demo as a self-hosted Coze Studio: its bookmarks in the place of workspaces, a run of
# one with no schema, the prompt that adds a workflow by id.
tm send-keys -t smoke "clear; $bin demo --server studio; echo STUDIO-DONE" Enter
wait_for "Coze Studio at 127.0.0.1" 20
wait_for "Workflows 8/8" 20
tm send-keys -t smoke 2 g Enter          # the first bookmark (echo)
wait_for "Coze Studio does not show them" 10
tm send-keys -t smoke w
wait_for "✔ succeeded" 20
tm send-keys -t smoke 2 +
wait_for "add a workflow" 10
tm send-keys -t smoke Escape
sleep 0.3
tm send-keys -t smoke q
wait_line "STUDIO-DONE" 10

echo "smoke: ok (ran a workflow in a real pty, on hosted Coze and on Coze Studio; Ctrl-Z and fg, quit, SIGTERM, SIGINT and SIGQUIT restored the terminal; a vanished terminal and a stale demo left nothing behind)"
