"""Shared benchmark plumbing: wrk load, server start-up, the machine line for tables."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path

from tests.helpers import wait_http_ok

WRK_JSON = """
local bodies = {%s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""

WRK_MULTIPART = """
local f = assert(io.open("%s", "rb"))
local png = f:read("*all")
f:close()
local boundary = "modelops-bench-boundary"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\\r\\nContent-Disposition: form-data; name=\\"image\\"; filename=\\"d.png\\"\\r\\n"
  .. "Content-Type: image/png\\r\\n\\r\\n" .. png .. "\\r\\n--" .. boundary .. "--\\r\\n"
"""


def wrk_json_script(bodies: list[dict]) -> str:
    """A wrk script cycling through JSON ``bodies``."""
    return WRK_JSON % ", ".join("[==[" + json.dumps(b) + "]==]" for b in bodies)


def wrk_multipart_script(png: Path) -> str:
    """A wrk script posting ``png`` as multipart field ``image``."""
    return WRK_MULTIPART % png


def _wrk_ms(text: str) -> float:
    value, unit = float(text[:-2] if text.endswith(("ms", "us")) else text[:-1]), text[-2:]
    return value / 1000 if unit == "us" else value if unit == "ms" else value * 1000


def run_wrk(url: str, script: str, clients: int, seconds: float, workdir: Path) -> dict[str, float]:
    """Closed-loop load from ``wrk`` (C, one thread): the load generator costs little CPU."""
    path = workdir / "load.lua"
    path.write_text(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{seconds:.0f}s", "--latency", "-s", str(path), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _wrk_ms(pct["50"]),
        "p99": _wrk_ms(pct["99"]),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def start(cmd: list[str], env: dict[str, str], health: str, log: Path, cwd: Path) -> subprocess.Popen:
    """Start a server and wait for ``health`` to answer 200."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_http_ok(health, 180, proc)
    except Exception:
        proc.kill()
        raise RuntimeError(log.read_text()[-3000:]) from None
    return proc


def machine_line() -> str:
    """``Machine: 2 cores, <cpu>; Python x.y.z``."""
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor())
    return f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}"
