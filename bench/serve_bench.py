"""Serving benchmark: ModelOps vs ``mlflow models serve`` on the same version, same payloads.

Run with ``make bench``. Prints requests/s and p50/p99 latency at 1, 4 and 16 concurrent
clients for the ``breast-cancer`` champion (both servers with one worker process), then a
swap test: 16 clients while the champion alias moves 20 times. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_line, run_wrk, start, wrk_json_script  # noqa: E402
from core import names  # noqa: E402
from core.config import Settings  # noqa: E402
from core.demo import breast_cancer_split, seed_demo  # noqa: E402
from core.registry import Registry  # noqa: E402
from tests.helpers import free_port  # noqa: E402

TOKEN = "bench-token"


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
        proc = start(cmd, env_mlflow, health, home / f"{label.split()[0]}.log", ROOT)
        try:
            run_wrk(url + path, wrk_json_script(bodies), 4, 2, home)  # warm-up
            for clients in args.clients:
                results[(label, clients)] = run_wrk(url + path, wrk_json_script(bodies), clients, args.seconds, home)
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

    print(f"\n{machine_line()}; one worker process each")
    print(
        f"Model: {names.BREAST_CANCER} v{version} (200-tree random forest); 1-row dataframe_split payloads; "
        f"load from wrk (1 thread, N connections); {args.seconds:.0f} s per level\n"
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
