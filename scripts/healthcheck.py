"""Container health check: exit 0 when ``MODELOPS_HEALTH_URL`` answers 200 (default: the dashboard)."""

import os
import sys
import urllib.request

URL = os.environ.get("MODELOPS_HEALTH_URL", "http://127.0.0.1:8501/_stcore/health")

try:
    with urllib.request.urlopen(URL, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
