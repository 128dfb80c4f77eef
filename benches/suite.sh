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
source benches/common.sh
start_sim
export COZE_API_TOKEN=bench COZE_API_BASE=$url COZE_TUI_DATA_DIR=$work/data COZE_TUI_CONFIG=$work/config.toml
printf '[profiles.default.poll]\nqps = %s\n' "$qps" >"$work/config.toml"
echo=$(workflow_id echo)

python3 - "$work/suite.toml" "$cases" "$echo" <<'PY'
import sys
path, n, wf = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write(f'name = "bench"\nworkflow = "{wf}"\nconcurrency = 8\n')
    for i in range(n):
        f.write(f'\n[[case]]\nname = "case {i}"\nparams = {{ i = {i}, text = "测试 {i}" }}\n[case.expect]\noutput = {{ i = {i}, text = "测试 {i}" }}\n')
PY

read -r cpu wall rss code < <(measure "$bin" test "$work/suite.toml")
floor=$(python3 -c "print(f'{$cases * 1.1 / $qps:.1f}')")
echo "| cases | concurrency | qps | wall | budget floor | CPU | max RSS | exit |"
echo "|---|---|---|---|---|---|---|---|"
echo "| $cases | 8 | $qps | ${wall} s | ${floor} s | ${cpu} s | ${rss} MiB | $code |"
