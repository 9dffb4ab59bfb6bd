"""Shared benchmark plumbing: wrk load, server start-up, the machine line for tables."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

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
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    # A peer too slow to answer within the run leaves wrk without percentiles: NaN, printed as "—".
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": _wrk_ms(pct["50"]) if "50" in pct else float("nan"),
        "p99": _wrk_ms(pct["99"]) if "99" in pct else float("nan"),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def fmt(value: float, spec: str = ".0f") -> str:
    """``value`` formatted, or "—" when it is missing (NaN)."""
    return "—" if value != value else format(value, spec)


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


def seeded_demo_home(prefix: str, models: tuple[str, ...] | None = None, **extra_env: str) -> tuple[Path, dict, Any]:
    """A fresh temporary MODELOPS_HOME with the demo seeded; this process's environment points at it.

    Returns the home, the environment for child processes and the :class:`Settings`.
    """
    import tempfile

    from core import names
    from core.config import Settings
    from core.demo.seed import seed_demo

    home = Path(tempfile.mkdtemp(prefix=prefix))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELOPS_", "MLFLOW_"))}
    env.update({names.ENV_HOME: str(home), "TF_CPP_MIN_LOG_LEVEL": "3", **extra_env})
    for key in [k for k in os.environ if k.startswith(("MODELOPS_", "MLFLOW_"))]:
        del os.environ[key]
    os.environ.update(env)
    settings = Settings.from_env()
    print(f"seeding {', '.join(models) if models else 'the demo'} into {home} ...", flush=True)
    seed_demo(settings, **({"models": models} if models else {}), progress=lambda _l: None)
    return home, env, settings


def stop(proc: subprocess.Popen, wait_s: float = 20) -> None:
    """Terminate a server, killing it if it does not stop within ``wait_s``."""
    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
