#!/usr/bin/env bash
# CPU cost of reading one long workflow stream, coze-tui against the official Python SDK
# (cozepy 0.20.0, the version the conformance check pins), side by side on the same simulator
# in another process. Both read the whole stream of `chatty` (N Message events, a PING every
# 10, then the End message and Done); coze-tui also records it as a task in a fresh ledger
# (the first 10,000 messages kept, the rest counted). CPU = user + system time of the whole
# client process, from getrusage.
#
#   cargo build --release && bash benches/stream.sh [MESSAGES, default 100000] [ROUNDS, default 3]
#
# Prints a Markdown table (the README quotes it). Needs python3 with venv; creates the cozepy
# environment where ../shared/conformance/run.sh keeps it, if it is not there yet.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-100000}
rounds=${2:-3}
bin=$(realpath target/release/coze-tui)
work=$(mktemp -d)
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$work"' EXIT

venv=${XDG_CACHE_HOME:-$HOME/.cache}/coze-tui-conformance/cozepy-0.20.0
if ! "$venv/bin/python" -c 'import cozepy' 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check cozepy==0.20.0 >&2
fi

# The server on one core, the client measured on the other, when the machine has two.
pin_sim=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_sim=(taskset -c 1) pin_client=(taskset -c 0); fi
"${pin_sim[@]}" "$bin" sim --addr 127.0.0.1:0 --token bench --chatty-messages "$messages" --chatty-interval-ms 0 >"$work/sim" 2>/dev/null &
sim=$!
for _ in $(seq 100); do grep -q listening "$work/sim" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/sim")
chatty=$(COZE_API_TOKEN=bench COZE_API_BASE=$url COZE_TUI_DATA_DIR=$work/data COZE_TUI_CONFIG=$work/none.toml \
    "$bin" workflows --workspace "$(COZE_API_TOKEN=bench COZE_API_BASE=$url COZE_TUI_DATA_DIR=$work/data \
        COZE_TUI_CONFIG=$work/none.toml "$bin" workspaces --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" --json |
    python3 -c 'import json,sys; print([w["workflow_id"] for w in json.load(sys.stdin) if w["workflow_name"] == "chatty"][0])')

cat >"$work/cozepy_stream.py" <<'EOF'
import sys
from cozepy import Coze, TokenAuth
coze = Coze(auth=TokenAuth(token="bench"), base_url=sys.argv[1])
n = 0
for event in coze.workflows.runs.stream(workflow_id=sys.argv[2]):
    n += 1
print(n, file=sys.stderr)
EOF

# Runs a command, prints "cpu_seconds wall_seconds max_rss_mib" of that child alone.
cat >"$work/measure.py" <<'EOF'
import os, resource, subprocess, sys, time
start = time.monotonic()
with open(os.devnull, "w") as null:
    subprocess.run(sys.argv[1:], stdout=null, stderr=null, check=True)
wall = time.monotonic() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{u.ru_utime + u.ru_stime:.3f} {wall:.3f} {u.ru_maxrss / 1024:.0f}")
EOF

best() { sort -n | head -1; }
echo "| $messages-message stream | CPU (best of $rounds) | wall | peak memory |"
echo "|---|---|---|---|"
for client in coze-tui cozepy; do
    results=()
    for r in $(seq "$rounds"); do
        if [ "$client" = coze-tui ]; then
            rm -rf "$work/data"
            line=$(env COZE_API_TOKEN=bench COZE_API_BASE="$url" COZE_TUI_DATA_DIR="$work/data" COZE_TUI_CONFIG="$work/none.toml" \
                python3 "$work/measure.py" "${pin_client[@]}" "$bin" run "$chatty" --mode stream --json)
        else
            line=$(python3 "$work/measure.py" "${pin_client[@]}" "$venv/bin/python" "$work/cozepy_stream.py" "$url" "$chatty")
        fi
        results+=("$line")
    done
    read -r cpu wall rss < <(printf '%s\n' "${results[@]}" | best)
    label=$([ "$client" = coze-tui ] && echo "coze-tui \`run --mode stream\` (recorded in the ledger)" || echo "cozepy 0.20.0 \`workflows.runs.stream\` loop")
    echo "| $label | ${cpu} s | ${wall} s | ${rss} MiB |"
done
