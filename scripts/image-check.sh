#!/usr/bin/env bash
# Build the image with podman and prove both commands become healthy (no Docker engine here).
# Base images cannot be pulled: a stand-in for python:3.11-slim is made with debootstrap
# (Debian bookworm's python3 is 3.11) and imported once.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-localhost/modelops:check}
WORK=${WORK:-/var/tmp/modelops-image-check}
DASHBOARD_PORT=${DASHBOARD_PORT:-18501}
SERVICE_PORT=${SERVICE_PORT:-18000}

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null || ! command -v runc >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap
fi
mkdir -p /etc/containers
if ! grep -q cgroupfs /etc/containers/containers.conf 2>/dev/null; then
  printf '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n' > /etc/containers/containers.conf
fi

if ! podman image exists localhost/python:3.11-slim; then
  echo "making a python:3.11-slim stand-in with debootstrap"
  rm -rf "$WORK/rootfs" && mkdir -p "$WORK"
  debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates,curl \
    bookworm "$WORK/rootfs"
  ln -sf python3 "$WORK/rootfs/usr/bin/python"
  rm -f "$WORK"/rootfs/usr/lib/python3*/EXTERNALLY-MANAGED  # like the official image: pip installs allowed
  # This machine reaches PyPI through a TLS-inspecting proxy: the stand-in trusts what the host trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$WORK/rootfs" -c . | podman import --change 'CMD ["python3"]' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' - localhost/python:3.11-slim
fi

podman build --isolation chroot --pull=never --network host -t "$IMAGE" .

cleanup() { podman --runtime runc rm -f modelops-check-dashboard modelops-check-service >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
VOLUME="$WORK/data" && rm -rf "$VOLUME" && mkdir -p "$VOLUME" && chown 10001:10001 "$VOLUME"
run() { podman --runtime runc run --network host -v "$VOLUME:/data" "$@"; }
run --rm "$IMAGE" python -m core demo
run -d --name modelops-check-service -e MODELOPS_HEALTH_URL="http://127.0.0.1:$SERVICE_PORT/healthz" "$IMAGE" \
  python -m core serve --host 127.0.0.1 --port "$SERVICE_PORT"
run -d --name modelops-check-dashboard -e MODELOPS_API_URL="http://127.0.0.1:$SERVICE_PORT" \
  -e MODELOPS_HEALTH_URL="http://127.0.0.1:$DASHBOARD_PORT/_stcore/health" "$IMAGE" \
  python -m streamlit run dashboard/app.py --server.port "$DASHBOARD_PORT" --server.address 127.0.0.1

for url in "http://127.0.0.1:$SERVICE_PORT/readyz" "http://127.0.0.1:$DASHBOARD_PORT/_stcore/health"; do
  for _ in $(seq 1 120); do
    if curl -fsS "$url" >/dev/null 2>&1; then echo "healthy: $url"; continue 2; fi
    sleep 1
  done
  echo "not healthy: $url"; podman logs modelops-check-service | tail -20; podman logs modelops-check-dashboard | tail -20
  exit 1
done
podman exec modelops-check-service python scripts/healthcheck.py && echo "HEALTHCHECK command passes in the service container"
podman exec modelops-check-dashboard python scripts/healthcheck.py && echo "HEALTHCHECK command passes in the dashboard container"
podman exec modelops-check-service id -u | grep -qx 10001 && echo "runs as uid 10001"
echo "image-check: OK"
