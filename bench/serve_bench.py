"""Serving benchmark: ModelOps vs ``mlflow models serve`` on the same version, same payloads.

Run with ``make bench``. Prints requests/s and p50/p99 latency at 1, 4 and 16 concurrent
clients for the ``breast-cancer`` champion (both servers with one worker process), then a
swap test: 16 clients while the champion alias moves 20 times. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import names  # noqa: E402
from core.config import Settings  # noqa: E402
from core.demo import breast_cancer_split, seed_demo  # noqa: E402
from core.registry import Registry  # noqa: E402
from tests.helpers import free_port, wait_http_ok  # noqa: E402

TOKEN = "bench-token"


WRK_SCRIPT = """
local bodies = {%s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


def _wrk_ms(text: str) -> float:
    value, unit = float(text[:-2] if text.endswith(("ms", "us")) else text[:-1]), text[-2:]
    return value / 1000 if unit == "us" else value if unit == "ms" else value * 1000


def run_wrk(url: str, path: str, bodies: list[dict], clients: int, seconds: float, workdir: Path) -> dict[str, float]:
    """Closed-loop load from ``wrk`` (C, one thread): the load generator costs little CPU."""
    import json
    import re

    script = workdir / "bodies.lua"
    script.write_text(WRK_SCRIPT % ", ".join("[==[" + json.dumps(b) + "]==]" for b in bodies))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{seconds:.0f}s", "--latency", "-s", str(script), url + path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _wrk_ms(pct["50"]),
        "p99": _wrk_ms(pct["99"]),
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


async def run_load(url: str, path: str, bodies: list[dict], clients: int, seconds: float) -> dict[str, float]:
    """Closed-loop load from Python: ``clients`` workers each send one request after the other."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                r = await client.post(path, json=bodies[i % len(bodies)])
                latencies.append(time.perf_counter() - started)
                errors += r.status_code >= 300
                i += clients

        began = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        elapsed = time.perf_counter() - began
    lat = np.array(latencies) * 1000
    return {
        "rps": len(lat) / elapsed,
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "errors": errors,
        "n": len(lat),
    }


def start(cmd: list[str], env: dict[str, str], health: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_http_ok(health, 180, proc)
    except Exception:
        proc.kill()
        raise RuntimeError(log.read_text()[-3000:]) from None
    return proc


async def swap_test(url: str, registry: Registry, bodies: list[dict], moves: int) -> tuple[int, int]:
    """16 clients while the champion moves ``moves`` times (each followed by a reload)."""
    stop = asyncio.Event()
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker(k: int) -> None:
            i = k
            while not stop.is_set():
                r = await client.post(f"/v1/models/{names.BREAST_CANCER}/predict", json=bodies[i % len(bodies)])
                statuses.append(r.status_code)
                i += 16

        async def mover() -> None:
            for i in range(moves):
                version = 2 if i % 2 == 0 else 3
                await asyncio.to_thread(registry.promote, names.BREAST_CANCER, version, reason="bench swap")
                await client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
                await asyncio.sleep(0.1)
            stop.set()

        await asyncio.gather(mover(), *(worker(k) for k in range(16)))
    return len(statuses), sum(s >= 300 for s in statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each load level")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--only-modelops", action="store_true", help="skip the MLflow server (quick iterations)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="modelops-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELOPS_", "MLFLOW_"))}
    env.update({names.ENV_HOME: str(home), names.ENV_API_TOKEN: TOKEN, "TF_CPP_MIN_LOG_LEVEL": "3"})
    os.environ.update(env)
    settings = Settings.from_env()
    print(f"seeding breast-cancer into {home} ...", flush=True)
    seed_demo(settings, models=(names.BREAST_CANCER,), progress=lambda _l: None)
    registry = Registry.from_settings(settings)
    version = registry.resolve_alias(names.BREAST_CANCER, names.CHAMPION)

    _, X_test, _, _ = breast_cancer_split()
    columns = list(X_test.columns)
    bodies = [{"dataframe_split": {"columns": columns, "data": [row]}} for row in X_test.values.tolist()]

    ours_port, mlflow_port = free_port(), free_port()
    servers = {
        "modelops": (
            [sys.executable, "-m", "core", "serve", "--port", str(ours_port)],
            f"http://127.0.0.1:{ours_port}",
            f"/v1/models/{names.BREAST_CANCER}/predict",
            f"http://127.0.0.1:{ours_port}/readyz",
        ),
        "mlflow models serve": (
            [
                "mlflow",
                "models",
                "serve",
                "-m",
                f"models:/{names.BREAST_CANCER}/{version}",
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(mlflow_port),
                "-w",
                "1",
            ],
            f"http://127.0.0.1:{mlflow_port}",
            "/invocations",
            f"http://127.0.0.1:{mlflow_port}/ping",
        ),
    }
    env_mlflow = {**env, "MLFLOW_TRACKING_URI": settings.tracking_uri}
    results: dict[tuple[str, int], dict[str, float]] = {}
    if args.only_modelops:
        del servers["mlflow models serve"]
    for label, (cmd, url, path, health) in servers.items():
        print(f"starting {label} ...", flush=True)
        proc = start(cmd, env_mlflow, health, home / f"{label.split()[0]}.log")
        try:
            asyncio.run(run_load(url, path, bodies, 4, 2.0))  # warm-up
            for clients in args.clients:
                results[(label, clients)] = run_wrk(url, path, bodies, clients, args.seconds, home)
                r = results[(label, clients)]
                print(
                    f"  {clients:>2} clients: {r['rps']:8.1f} req/s  p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms",
                    flush=True,
                )
            if label == "modelops":
                swap = asyncio.run(swap_test(url, registry, bodies, 20))
        finally:
            proc.terminate()
            proc.wait(20)

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"\nMachine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; one worker process each")
    print(
        f"Model: {names.BREAST_CANCER} v{version} (200-tree random forest); 1-row dataframe_split payloads; "
        f"{args.seconds:.0f} s per level\n"
    )
    header = (
        "| clients | ModelOps req/s | MLflow req/s | ratio | ModelOps p50 ms | MLflow p50 ms "
        "| ModelOps p99 ms | MLflow p99 ms |"
    )
    print(header)
    print("|" + "---|" * 8)
    for clients in args.clients:
        ours = results[("modelops", clients)]
        theirs = results.get(
            ("mlflow models serve", clients), {"rps": float("nan"), "p50": float("nan"), "p99": float("nan")}
        )
        print(
            f"| {clients} | {ours['rps']:.0f} | {theirs['rps']:.0f} | {ours['rps'] / theirs['rps']:.1f}× "
            f"| {ours['p50']:.1f} | {theirs['p50']:.1f} | {ours['p99']:.1f} | {theirs['p99']:.1f} |"
        )
    errors = sum(r["errors"] for r in results.values())
    print(f"\nnon-2xx during load levels: {errors}")
    print(f"swap test: {swap[0]} requests at 16 clients while the champion moved 20 times; non-2xx: {swap[1]}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
