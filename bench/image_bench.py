"""Image benchmark: the ModelOps pipeline vs the tutorial service (``model.predict`` per image).

Run with ``make bench``. In-process single-image latency (decode + preprocess + predict of a
small PNG), requests/s through the API at 1 and 16 clients, and a 100-image batch as the
Classify page runs it, each side by side with the baseline. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_line, run_wrk, seeded_demo_home, start, stop, wrk_multipart_script  # noqa: E402
from core import names  # noqa: E402
from core.demo.datasets import digits_images  # noqa: E402
from core.runtime.classify import classify_images  # noqa: E402
from core.runtime.handles import load_handle  # noqa: E402
from tests.helpers import free_port  # noqa: E402


def timed(fn, n: int) -> tuple[float, float]:
    """p50 and p99 in ms of ``n`` calls (after 10 warm-up calls)."""
    for _ in range(10):
        fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return float(np.percentile(samples, 50) * 1000), float(np.percentile(samples, 99) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each API load level")
    args = parser.parse_args()

    from PIL import Image, ImageOps

    home, env, settings = seeded_demo_home("modelops-image-bench-", (names.DIGITS,))
    handle = load_handle(settings.tracking_uri, names.DIGITS, 2)
    keras_file = next((home / "artifacts").rglob("*.keras"))
    for candidate in (home / "artifacts").rglob("*.keras"):  # v2 is the newer of the two files
        if candidate.stat().st_mtime > keras_file.stat().st_mtime:
            keras_file = candidate

    _, images, _, _ = digits_images()
    pngs = []
    for img in images[:100]:
        buf = io.BytesIO()
        Image.fromarray(255 - img).save(buf, "PNG")
        pngs.append(buf.getvalue())
    sample = home / "digit.png"
    sample.write_bytes(pngs[0])

    model = handle.model

    def tutorial_one(data: bytes) -> np.ndarray:
        img = ImageOps.invert(Image.open(io.BytesIO(data)).convert("L")).resize((28, 28))
        return model.predict((np.asarray(img, dtype="float32") / 255.0)[None, ..., None], verbose=0)[0]

    print("in-process ...", flush=True)
    ours_single = timed(lambda: classify_images(handle, [("d.png", pngs[0])]), 300)
    base_single = timed(lambda: tutorial_one(pngs[0]), 60)
    files = [(f"{i}.png", data) for i, data in enumerate(pngs)]
    started = time.perf_counter()
    classify_images(handle, files)
    ours_batch = time.perf_counter() - started
    started = time.perf_counter()
    for data in pngs:
        tutorial_one(data)
    base_batch = time.perf_counter() - started

    api: dict[tuple[str, int], dict[str, float]] = {}
    ours_port, base_port = free_port(), free_port()
    servers = {
        "ModelOps": (
            [sys.executable, "-m", "core", "serve", "--port", str(ours_port)],
            f"http://127.0.0.1:{ours_port}/v1/models/{names.DIGITS}/classify",
            f"http://127.0.0.1:{ours_port}/readyz",
        ),
        "tutorial": (
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.tutorial_image_service:app",
                "--port",
                str(base_port),
                "--log-level",
                "warning",
            ],
            f"http://127.0.0.1:{base_port}/predict",
            f"http://127.0.0.1:{base_port}/health",
        ),
    }
    for label, (cmd, url, health) in servers.items():
        print(f"starting {label} service ...", flush=True)
        proc = start(cmd, {**env, "TUTORIAL_MODEL": str(keras_file)}, health, home / f"{label}.log", ROOT)
        try:
            script = wrk_multipart_script(sample)
            run_wrk(url, script, 2, 2, home)  # warm-up
            for clients in (1, 16):
                api[(label, clients)] = run_wrk(url, script, clients, args.seconds, home)
        finally:
            stop(proc)

    print(f"\n{machine_line()}; one worker process per service; digits CNN v2 (28×28×1)\n")
    print("| measure | ModelOps | tutorial (`model.predict` per image) | ratio |")
    print("|---|---|---|---|")
    print(
        f"| in-process single image p50 / p99 (ms) | {ours_single[0]:.2f} / {ours_single[1]:.2f} "
        f"| {base_single[0]:.2f} / {base_single[1]:.2f} | {base_single[0] / ours_single[0]:.0f}× |"
    )
    print(f"| 100-image batch (s) | {ours_batch:.3f} | {base_batch:.3f} | {base_batch / ours_batch:.0f}× |")
    for clients in (1, 16):
        ours, base = api[("ModelOps", clients)], api[("tutorial", clients)]
        print(
            f"| API, {clients} client(s): req/s | {ours['rps']:.0f} | {base['rps']:.0f} "
            f"| {ours['rps'] / base['rps']:.1f}× |"
        )
        print(
            f"| API, {clients} client(s): p50 / p99 (ms) | {ours['p50']:.1f} / {ours['p99']:.1f} "
            f"| {base['p50']:.1f} / {base['p99']:.1f} | |"
        )
    errors = sum(r["errors"] for r in api.values())
    print(f"\nnon-2xx responses: {errors}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
