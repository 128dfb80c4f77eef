# Shared by the benchmark scripts (sourced, not run): the release binary, a scratch folder,
# the simulator on one core and the measured client on the other, the official SDK's
# environment, and a measuring wrapper.
#
#   source benches/common.sh; start_sim [SIM FLAGS...]; "$venv/bin/python" ...; measure CMD...

bin=$(realpath target/release/coze-tui)
work=$(mktemp -d)
sim=
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$work"' EXIT

# The server on one core, the client measured on the other, when the machine has two.
pin_sim=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_sim=(taskset -c 1) pin_client=(taskset -c 0); fi

# Starts the simulator with FLAGS; sets `url`.
start_sim() {
    "${pin_sim[@]}" "$bin" sim --addr 127.0.0.1:0 --token bench "$@" >"$work/sim" 2>"$work/sim.err" &
    sim=$!
    for _ in $(seq 100); do grep -q listening "$work/sim" && break; sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$work/sim")
}

# cozepy 0.20.0 where ../shared/conformance/run.sh keeps it (made if missing); sets `venv`.
ensure_cozepy() {
    venv=${XDG_CACHE_HOME:-$HOME/.cache}/coze-tui-conformance/cozepy-0.20.0
    if ! "$venv/bin/python" -c 'import cozepy' 2>/dev/null; then
        python3 -m venv "$venv" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check cozepy==0.20.0 >&2
    fi
}

# Runs CMD on the client core; prints "cpu_seconds wall_seconds max_rss_mib exit_code" of it alone.
measure() {
    python3 - "${pin_client[@]}" "$@" <<'PY'
import os, resource, subprocess, sys, time
start = time.monotonic()
with open(os.devnull, "w") as null:
    code = subprocess.run(sys.argv[1:], stdout=null, stderr=null).returncode
wall = time.monotonic() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{u.ru_utime + u.ru_stime:.3f} {wall:.3f} {u.ru_maxrss / 1024:.0f} {code}")
PY
}

# The id of the simulator workflow NAME in its first workspace (COZE_* must point at it); a
# simulated Coze Studio, which cannot list them, says its ids on stderr.
workflow_id() {
    local ws
    if grep -q '^workflows: ' "$work/sim.err"; then
        sed -n 's/^workflows: //p' "$work/sim.err" | tr ',' '\n' | sed -n "s/^$1=//p"
        return
    fi
    ws=$("$bin" workspaces --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    "$bin" workflows --workspace "$ws" --json |
        python3 -c "import json,sys; print([w['workflow_id'] for w in json.load(sys.stdin) if w['workflow_name'] == '$1'][0])"
}
