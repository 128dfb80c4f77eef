#!/usr/bin/env bash
# CPU cost of reading one long workflow stream, coze-tui against the official Python SDK
# (cozepy 0.20.0, the version the conformance check pins), side by side on the same simulator
# in another process. Both read the whole stream of `chatty` (N Message events, a PING every
# 10, then the End message and Done); coze-tui also records it as a task in a fresh ledger
# (the first 10,000 messages kept, the rest counted). CPU = user + system time of the whole
# client process, from getrusage.
#
#   cargo build --release && bash benches/stream.sh [MESSAGES, default 100000] [ROUNDS, default 3]
#   SERVER=studio bash benches/stream.sh ...   # the same stream as a Coze Studio sends it
#
# Prints a Markdown table (the README quotes it). Needs python3 with venv; creates the cozepy
# environment where ../shared/conformance/run.sh keeps it, if it is not there yet.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-100000}
rounds=${2:-3}
source benches/common.sh
ensure_cozepy
server=${SERVER:-coze}
start_sim --chatty-messages "$messages" --chatty-interval-ms 0 --server "$server"
chatty=$(COZE_API_TOKEN=bench COZE_API_BASE=$url COZE_TUI_DATA_DIR=$work/data COZE_TUI_CONFIG=$work/none.toml workflow_id chatty)

cat >"$work/cozepy_stream.py" <<'EOF'
import sys
from cozepy import Coze, TokenAuth
coze = Coze(auth=TokenAuth(token="bench"), base_url=sys.argv[1])
n = 0
for event in coze.workflows.runs.stream(workflow_id=sys.argv[2]):
    n += 1
print(n, file=sys.stderr)
EOF

best() { sort -n | head -1; }
echo "| $messages-message stream ($server) | CPU (best of $rounds) | wall | peak memory |"
echo "|---|---|---|---|"
for client in coze-tui cozepy; do
    results=()
    for r in $(seq "$rounds"); do
        if [ "$client" = coze-tui ]; then
            rm -rf "$work/data"
            line=$(COZE_API_TOKEN=bench COZE_API_BASE="$url" COZE_TUI_DATA_DIR="$work/data" COZE_TUI_CONFIG="$work/none.toml" \
                measure "$bin" run "$chatty" --mode stream --json)
        else
            line=$(measure "$venv/bin/python" "$work/cozepy_stream.py" "$url" "$chatty")
        fi
        results+=("$line")
    done
    read -r cpu wall rss _ < <(printf '%s\n' "${results[@]}" | best)
    label=$([ "$client" = coze-tui ] && echo "coze-tui \`run --mode stream\` (recorded in the ledger)" || echo "cozepy 0.20.0 \`workflows.runs.stream\` loop")
    echo "| $label | ${cpu} s | ${wall} s | ${rss} MiB |"
done
