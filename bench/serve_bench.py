"""Serving benchmark: ModelOps vs ``mlflow models serve`` on the same version, same payloads.

Run with ``make bench``. Prints requests/s and p50/p99 latency at 1, 4 and 16 concurrent
clients for the ``breast-cancer`` champion (both servers with one worker process), then a
swap test: 16 clients while the champion alias moves 20 times. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import fmt, machine_line, run_wrk, seeded_demo_home, start, stop, wrk_json_script  # noqa: E402
from core import names  # noqa: E402
from core.demo.datasets import breast_cancer_split  # noqa: E402
from core.registry.facade import Registry  # noqa: E402
from tests.helpers import free_port  # noqa: E402

TOKEN = "bench-token"
ONNX, SKLEARN, MLFLOW = "modelops (ONNX Runtime)", "modelops (scikit-learn)", "mlflow models serve"


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

    home, env, settings = seeded_demo_home("modelops-bench-", (names.BREAST_CANCER,), **{names.ENV_API_TOKEN: TOKEN})
    registry = Registry.from_settings(settings)
    version = registry.resolve_alias(names.BREAST_CANCER, names.CHAMPION)

    _, X_test, _, _ = breast_cancer_split()
    columns = list(X_test.columns)
    bodies = [{"dataframe_split": {"columns": columns, "data": [row]}} for row in X_test.values.tolist()]

    onnx_port, sklearn_port, mlflow_port = free_port(), free_port(), free_port()
    ours = [sys.executable, "-m", "core", "serve", "--port"]
    predict = f"/v1/models/{names.BREAST_CANCER}/predict"
    servers = {
        ONNX: ([*ours, str(onnx_port)], onnx_port, predict, "/readyz", {}),
        SKLEARN: ([*ours, str(sklearn_port)], sklearn_port, predict, "/readyz", {"MODELOPS_ONNX": "0"}),
        MLFLOW: (
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
            mlflow_port,
            "/invocations",
            "/ping",
            {},
        ),
    }
    if args.only_modelops:
        del servers[MLFLOW]
    results: dict[tuple[str, int], dict[str, float]] = {}
    swap = (0, 0)
    for label, (cmd, port, path, health, extra_env) in servers.items():
        print(f"starting {label} ...", flush=True)
        url = f"http://127.0.0.1:{port}"
        server_env = {**env, "MLFLOW_TRACKING_URI": settings.tracking_uri, **extra_env}
        proc = start(cmd, server_env, url + health, home / f"{port}.log", ROOT)
        try:
            run_wrk(url + path, wrk_json_script(bodies), 4, 2, home)  # warm-up
            for clients in args.clients:
                r = results[(label, clients)] = run_wrk(
                    url + path, wrk_json_script(bodies), clients, args.seconds, home
                )
                print(
                    f"  {clients:>2} clients: {r['rps']:8.1f} req/s  p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms",
                    flush=True,
                )
            if label == ONNX:
                swap = asyncio.run(swap_test(url, registry, bodies, 20))
        finally:
            stop(proc)

    nan = {"rps": float("nan"), "p50": float("nan"), "p99": float("nan")}
    print(f"\n{machine_line()}; one worker process each")
    print(
        f"Model: {names.BREAST_CANCER} v{version} (200-tree random forest); 1-row dataframe_split payloads; "
        f"load from wrk (1 thread, N connections); {args.seconds:.0f} s per level\n"
    )
    print(
        "| clients | req/s ONNX | req/s scikit-learn | req/s MLflow | ONNX ÷ MLflow | p50 ms ONNX / sklearn / MLflow "
        "| p99 ms ONNX / sklearn / MLflow |"
    )
    print("|---|---|---|---|---|---|---|")
    for clients in args.clients:
        o, k, m = (results.get((label, clients), nan) for label in (ONNX, SKLEARN, MLFLOW))
        p50 = " / ".join(fmt(r["p50"], ".1f") for r in (o, k, m))
        p99 = " / ".join(fmt(r["p99"], ".1f") for r in (o, k, m))
        ratio = fmt(o["rps"] / m["rps"], ".1f") if m["rps"] else "—"
        print(f"| {clients} | {fmt(o['rps'])} | {fmt(k['rps'])} | {fmt(m['rps'])} | {ratio}× | {p50} | {p99} |")
    errors = sum(r["errors"] for r in results.values())
    print(f"\nnon-2xx during load levels: {errors}")
    print(f"swap test: {swap[0]} requests at 16 clients while the champion moved 20 times; non-2xx: {swap[1]}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
