"""Serving benchmark for the kinds of models users' registries hold: ModelOps vs ``mlflow models serve``.

``churn`` (a scikit-learn pipeline with string, integer, float and boolean columns and string
labels) and ``diabetes-progression`` (a regressor with a string column), their champions, the same
1-row ``dataframe_split`` payloads to both servers, one worker process each. Run with ``make bench``.
Prints requests/s and p50/p99 at 1 and 16 clients; nothing asserts.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import fmt, machine_line, run_wrk, seeded_demo_home, start, stop, wrk_json_script  # noqa: E402
from core import names  # noqa: E402
from core.demo.datasets import churn_frame, diabetes_frame  # noqa: E402
from core.registry.facade import Registry  # noqa: E402
from tests.helpers import free_port  # noqa: E402

MODELS = (names.CHURN, names.DIABETES)


def bodies_for(model: str) -> list[dict]:
    """200 one-row payloads of the model's own columns, values as JSON types."""
    frame = churn_frame(rows=200, seed=5)[0] if model == names.CHURN else diabetes_frame()[0].head(200)
    rows = [[v.item() if hasattr(v, "item") else v for v in row] for row in frame.itertuples(index=False)]
    return [{"dataframe_split": {"columns": list(frame.columns), "data": [row]}} for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each load level")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    home, env, settings = seeded_demo_home("modelops-kinds-bench-", MODELS)
    registry = Registry.from_settings(settings)
    results: dict[tuple[str, str, int], dict[str, float]] = {}
    versions = {m: registry.resolve_alias(m, names.CHAMPION) for m in MODELS}

    def load(label: str, model: str, url: str) -> None:
        script = wrk_json_script(bodies_for(model))
        run_wrk(url, script, 4, 2, home)  # warm-up
        for clients in args.clients:
            r = results[(label, model, clients)] = run_wrk(url, script, clients, args.seconds, home)
            print(f"  {model} {clients:>2} clients: {fmt(r['rps'], '8.1f')} req/s  p50 {fmt(r['p50'], '.2f')} ms")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print("starting ModelOps ...", flush=True)
    proc = start(
        [sys.executable, "-m", "core", "serve", "--port", str(port)], env, url + "/readyz", home / "ours.log", ROOT
    )
    try:
        for model in MODELS:
            load("modelops", model, f"{url}/v1/models/{model}/predict")
    finally:
        stop(proc)
    for model in MODELS:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        print(f"starting mlflow models serve for {model} v{versions[model]} ...", flush=True)
        cmd = ["mlflow", "models", "serve", "-m", f"models:/{model}/{versions[model]}", "--env-manager", "local"]
        cmd += ["-h", "127.0.0.1", "-p", str(port), "-w", "1"]
        server_env = {**env, "MLFLOW_TRACKING_URI": settings.tracking_uri}
        proc = start(cmd, server_env, url + "/ping", home / f"mlflow-{model}.log", ROOT)
        try:
            load("mlflow", model, url + "/invocations")
        finally:
            stop(proc)

    nan = {"rps": float("nan"), "p50": float("nan"), "p99": float("nan"), "errors": 0}
    print(f"\n{machine_line()}; one worker process each; {args.seconds:.0f} s per level, wrk 1 thread")
    print("| model | clients | req/s ModelOps | req/s MLflow | ratio | p50 ms ModelOps / MLflow | p99 ms (same) |")
    print("|---|---|---|---|---|---|---|")
    for model in MODELS:
        for clients in args.clients:
            o, m = results.get(("modelops", model, clients), nan), results.get(("mlflow", model, clients), nan)
            ratio = fmt(o["rps"] / m["rps"], ".1f") + "×" if m["rps"] else "—"
            print(
                f"| {model} v{versions[model]} | {clients} | {fmt(o['rps'])} | {fmt(m['rps'])} | {ratio} "
                f"| {fmt(o['p50'], '.1f')} / {fmt(m['p50'], '.1f')} | {fmt(o['p99'], '.1f')} / {fmt(m['p99'], '.1f')} |"
            )
    errors = {k: r["errors"] for k, r in results.items() if r["errors"]}
    print(f"\nnon-2xx responses: {errors or 'none'}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
