#!/usr/bin/env bash
# A 200-case suite at concurrency 8 against the simulator (in another process): wall time and
# CPU of `coze-tui test`, next to what the profile's request budget allows. Every case is one
# sync run of `echo` (one request each), checked against an exact expected output.
#
#   cargo build --release && bash benches/suite.sh [CASES, default 200] [QPS, default 20]
#
# The budget spaces requests 1.1/qps s apart (shared by every process on the data directory),
# so CASES runs take at least CASES × 1.1 / QPS seconds however fast Coze answers.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-200}
qps=${2:-20}
bin=$(realpath target/release/coze-tui)
work=$(mktemp -d)
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$work"' EXIT

pin_sim=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_sim=(taskset -c 1) pin_client=(taskset -c 0); fi
"${pin_sim[@]}" "$bin" sim --addr 127.0.0.1:0 --token bench >"$work/sim" 2>/dev/null &
sim=$!
for _ in $(seq 100); do grep -q listening "$work/sim" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/sim")
export COZE_API_TOKEN=bench COZE_API_BASE=$url COZE_TUI_DATA_DIR=$work/data COZE_TUI_CONFIG=$work/config.toml
printf '[profiles.default.poll]\nqps = %s\n' "$qps" >"$work/config.toml"
ws=$("$bin" workspaces --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
echo=$("$bin" workflows --workspace "$ws" --json | python3 -c 'import json,sys; print([w["workflow_id"] for w in json.load(sys.stdin) if w["workflow_name"] == "echo"][0])')

python3 - "$work/suite.toml" "$cases" "$echo" <<'PY'
import sys
path, n, wf = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write(f'name = "bench"\nworkflow = "{wf}"\nconcurrency = 8\n')
    for i in range(n):
        f.write(f'\n[[case]]\nname = "case {i}"\nparams = {{ i = {i}, text = "测试 {i}" }}\n[case.expect]\noutput = {{ i = {i}, text = "测试 {i}" }}\n')
PY

cat >"$work/measure.py" <<'PY'
import os, resource, subprocess, sys, time
start = time.monotonic()
with open(os.devnull, "w") as null:
    code = subprocess.run(sys.argv[1:], stdout=null, stderr=null).returncode
wall = time.monotonic() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{u.ru_utime + u.ru_stime:.3f} {wall:.3f} {u.ru_maxrss / 1024:.0f} {code}")
PY
read -r cpu wall rss code < <("${pin_client[@]}" python3 "$work/measure.py" "$bin" test "$work/suite.toml")
floor=$(python3 -c "print(f'{$cases * 1.1 / $qps:.1f}')")
echo "| cases | concurrency | qps | wall | budget floor | CPU | max RSS | exit |"
echo "|---|---|---|---|---|---|---|---|"
echo "| $cases | 8 | $qps | ${wall} s | ${floor} s | ${cpu} s | ${rss} MiB | $code |"
