#!/usr/bin/env bash
# Uploading one file, coze-tui against the official Python SDK (cozepy 0.20.0), on the same
# simulator in another process: `coze-tui upload FILE` (streamed from disk, hashed, recorded in
# a fresh ledger) and cozepy's `files.upload(file=Path)`; then `coze-tui upload` of the same
# file again, which finds the earlier upload by content and sends nothing.
#
#   cargo build --release && bash benches/upload.sh [MEGABYTES, default 200] [ROUNDS, default 3]
#
# Prints a Markdown table (the README quotes it). CPU = user + system of the client process.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/common.sh
megabytes=${1:-200}
rounds=${2:-3}
ensure_cozepy
start_sim
head -c "$((megabytes * 1024 * 1024))" /dev/urandom >"$work/file.bin"
cat >"$work/cozepy_upload.py" <<'EOF'
import sys
from pathlib import Path
from cozepy import Coze, TokenAuth
coze = Coze(auth=TokenAuth(token="bench"), base_url=sys.argv[1])
print(coze.files.upload(file=Path(sys.argv[2])).id)
EOF

export COZE_API_TOKEN=bench COZE_API_BASE=$url COZE_TUI_DATA_DIR=$work/data COZE_TUI_CONFIG=$work/none.toml
echo "| $megabytes MB upload | CPU | wall (best of $rounds) | peak memory |"
echo "|---|---|---|---|"
for client in coze-tui cozepy again; do
    results=()
    for _ in $(seq "$rounds"); do
        case $client in
            coze-tui) rm -rf "$work/data"; line=$(measure "$bin" upload "$work/file.bin") ;;
            again) line=$(measure "$bin" upload "$work/file.bin") ;;
            cozepy) line=$(measure "$venv/bin/python" "$work/cozepy_upload.py" "$url" "$work/file.bin") ;;
        esac
        results+=("$line")
    done
    read -r cpu wall rss _ < <(printf '%s\n' "${results[@]}" | sort -n -k2 | head -1)
    case $client in
        coze-tui) label="coze-tui \`upload\` (hashed, recorded)" ;;
        cozepy) label="cozepy 0.20.0 \`files.upload\`" ;;
        again) label="coze-tui \`upload\` of the same file again (found by content; nothing sent)" ;;
    esac
    echo "| $label | ${cpu} s | ${wall} s | ${rss} MiB |"
done
