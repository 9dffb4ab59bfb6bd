#!/usr/bin/env bash
# Start every ModelOps process in the foreground; Ctrl-C (or any one exiting) stops them all.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DASHBOARD_PORT=${DASHBOARD_PORT:-8501}
SERVICE_PORT=${SERVICE_PORT:-8000}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

pids=()
helpers=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}" "${helpers[@]}"; do kill "$pid" 2>/dev/null || true; done
  pkill -P $$ 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$BIN/python" -m core serve --host 127.0.0.1 --port "$SERVICE_PORT" &
pids+=($!)
# The dashboard talks to this service, also when SERVICE_PORT is not the default 8000.
MODELOPS_API_URL="${MODELOPS_API_URL:-http://127.0.0.1:${SERVICE_PORT}}" \
  "$BIN/python" -m streamlit run dashboard/app.py --server.port "$DASHBOARD_PORT" &
pids+=($!)
echo "dashboard: http://localhost:${DASHBOARD_PORT}  service: http://localhost:${SERVICE_PORT}/docs  (Ctrl-C stops everything)"

# A gentle simulator, so the A/B, Monitoring and drift views show live data within a minute.
# MODELOPS_SIMULATE=0 turns it off. It is a helper: its exit does not stop the others.
helpers=()
if [ "${MODELOPS_SIMULATE:-1}" != "0" ]; then
  (
    "$BIN/python" - "$SERVICE_PORT" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/readyz"
for _ in range(240):
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(1)
PY
    # The classic demo model, a regressor and a pipeline with string columns, each with an A/B split.
    trap 'kill $(jobs -p) 2>/dev/null' TERM EXIT
    for spec in breast-cancer:2 diabetes-progression:1 churn:1; do
      MODELOPS_API_URL="http://127.0.0.1:${SERVICE_PORT}" "$BIN/python" -m core simulate --model "${spec%%:*}" \
        --rate "${spec##*:}" --duration 0 --label-delay 5 --label-fraction 0.8 --challenger-share 0.2 \
        > "${MODELOPS_HOME:-.modelops}/simulator-${spec%%:*}.log" 2>&1 &
    done
    wait
  ) &
  helpers+=($!)
fi

# Return as soon as the service or the dashboard exits, then stop everything.
wait -n "${pids[@]}"
