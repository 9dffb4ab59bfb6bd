#!/usr/bin/env bash
# Start every ModelOps process in the foreground; Ctrl-C (or any one exiting) stops them all.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DASHBOARD_PORT=${DASHBOARD_PORT:-8501}
SERVICE_PORT=${SERVICE_PORT:-8000}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$BIN/python" -m core serve --host 0.0.0.0 --port "$SERVICE_PORT" &
pids+=($!)
"$BIN/python" -m streamlit run dashboard/app.py --server.port "$DASHBOARD_PORT" &
pids+=($!)
echo "dashboard: http://localhost:${DASHBOARD_PORT}  service: http://localhost:${SERVICE_PORT}/docs  (Ctrl-C stops everything)"

# Return as soon as any process exits, then stop the others.
wait -n
