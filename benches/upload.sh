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
megabytes=${1:-200}
rounds=${2:-3}
bin=$(realpath target/release/coze-tui)
work=$(mktemp -d)
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$work"' EXIT

venv=${XDG_CACHE_HOME:-$HOME/.cache}/coze-tui-conformance/cozepy-0.20.0
if ! "$venv/bin/python" -c 'import cozepy' 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check cozepy==0.20.0 >&2
fi
pin_sim=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_sim=(taskset -c 1) pin_client=(taskset -c 0); fi
"${pin_sim[@]}" "$bin" sim --addr 127.0.0.1:0 --token bench >"$work/sim" 2>/dev/null &
sim=$!
for _ in $(seq 100); do grep -q listening "$work/sim" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/sim")
head -c "$((megabytes * 1024 * 1024))" /dev/urandom >"$work/file.bin"

cat >"$work/cozepy_upload.py" <<'EOF'
import sys
from pathlib import Path
from cozepy import Coze, TokenAuth
coze = Coze(auth=TokenAuth(token="bench"), base_url=sys.argv[1])
print(coze.files.upload(file=Path(sys.argv[2])).id)
EOF
cat >"$work/measure.py" <<'EOF'
import os, resource, subprocess, sys, time
start = time.monotonic()
with open(os.devnull, "w") as null:
    subprocess.run(sys.argv[1:], stdout=null, stderr=null, check=True)
wall = time.monotonic() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{u.ru_utime + u.ru_stime:.3f} {wall:.3f} {u.ru_maxrss / 1024:.0f}")
EOF

tui() { env COZE_API_TOKEN=bench COZE_API_BASE="$url" COZE_TUI_DATA_DIR="$work/data" COZE_TUI_CONFIG="$work/none.toml" "$@"; }
best() { sort -n -k2 | head -1; }
echo "| $megabytes MB upload | CPU | wall (best of $rounds) | peak memory |"
echo "|---|---|---|---|"
for client in coze-tui cozepy again; do
    results=()
    for _ in $(seq "$rounds"); do
        case $client in
            coze-tui) rm -rf "$work/data"; line=$(tui python3 "$work/measure.py" "${pin_client[@]}" "$bin" upload "$work/file.bin") ;;
            again) line=$(tui python3 "$work/measure.py" "${pin_client[@]}" "$bin" upload "$work/file.bin") ;;
            cozepy) line=$(python3 "$work/measure.py" "${pin_client[@]}" "$venv/bin/python" "$work/cozepy_upload.py" "$url" "$work/file.bin") ;;
        esac
        results+=("$line")
    done
    read -r cpu wall rss < <(printf '%s\n' "${results[@]}" | best)
    case $client in
        coze-tui) label="coze-tui \`upload\` (hashed, recorded)" ;;
        cozepy) label="cozepy 0.20.0 \`files.upload\`" ;;
        again) label="coze-tui \`upload\` of the same file again (found by content; nothing sent)" ;;
    esac
    echo "| $label | ${cpu} s | ${wall} s | ${rss} MiB |"
done
