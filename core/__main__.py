"""Command line: ``python -m core <command> --help``."""

from __future__ import annotations

import argparse
import logging
import sys

from core import names
from core.config import Settings
from core.errors import ModelOpsError


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.demo.seed import seed_demo

    models = tuple(args.model) if args.model else None
    results = seed_demo(Settings.from_env(), **({"models": models} if models else {}))
    for r in results:
        state = "kept" if r.skipped else f"created v{', v'.join(map(str, r.created_versions))}"
        challenger = f", challenger v{r.challenger}" if r.challenger else ""
        print(f"{r.model}: {state}; champion v{r.champion}{challenger}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from core.serving.app import serve

    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


def _image_size(text: str) -> int | tuple[int, int]:
    """``224`` or ``224x160`` (height x width)."""
    parts = text.lower().split("x")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts) or len(parts) > 2:
        raise argparse.ArgumentTypeError(f"expected a size like 224 or 224x160, got {text!r}")
    return int(parts[0]) if len(parts) == 1 else (int(parts[0]), int(parts[1]))


def _cmd_register_keras(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.registry.keras import register_keras

    result = register_keras(
        Settings.from_env(),
        Path(args.model),
        Path(args.labels),
        input_size=args.input_size,
        channels=args.channels,
        scale=args.scale,
        invert=args.invert,
        center=args.center,
        name=args.name,
        alias=args.alias,
        description=args.description,
    )
    aliases = f" ({', '.join(result.aliases)})" if result.aliases else ""
    print(f"registered {result.model} v{result.version}{aliases}")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    import asyncio

    from core.demo.simulate import SimulationConfig, simulate

    config = SimulationConfig(
        model=args.model,
        rate=args.rate,
        duration=args.duration,
        label_delay=args.label_delay,
        label_fraction=args.label_fraction,
        drift=args.drift,
        users=args.users,
        seed=args.seed,
        challenger_share=args.challenger_share,
    )

    def report(r) -> None:
        print(f"sent {r.sent}, ok {r.ok}, failed {r.failed}, labels {r.labels}; {dict(r.arms)}", flush=True)

    try:
        result = asyncio.run(simulate(Settings.from_env(), config, progress=report))
    except KeyboardInterrupt:
        return 130
    report(result)
    if result.errors:
        print(f"errors: {dict(result.errors)}", file=sys.stderr)
    return 0 if result.failed == 0 else 1


def _cmd_compile(args: argparse.Namespace) -> int:
    from core.edge.onnx_compile import compile_version
    from core.registry.facade import Registry
    from core.registry.registration import configure_mlflow

    settings = Settings.from_env()
    registry = Registry.from_settings(settings)
    configure_mlflow(settings)
    record = compile_version(registry, args.model, args.version)
    print(
        f"{args.model} v{args.version}: ONNX {record.status}; label agreement {record.label_agreement:.4%}, "
        f"largest probability difference {record.max_proba_diff:.2e} on {record.rows} reference rows"
        + (f"; {record.reason}" if record.reason else "")
    )
    return 0 if record.status == "passed" else 1


def _cmd_adopt(args: argparse.Namespace) -> int:
    from core.edge.adopt import adopt_version
    from core.registry.facade import Registry
    from core.registry.types import current_actor

    settings = Settings.from_env()
    adoption = adopt_version(
        Registry.from_settings(settings), args.model, args.version, current_actor(), settings.trusted_models
    )
    print(adoption.summary())
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.edge.export import export_version
    from core.edge.reports import report_frame
    from core.registry.facade import Registry
    from core.runtime.handles import load_handle
    from core.runtime.tflite import MODES

    settings = Settings.from_env()
    registry = Registry.from_settings(settings)
    registry.get_version(args.model, args.version)  # a clear error for an unknown model or version
    modes = list(MODES) if "all" in args.mode else args.mode
    handle = load_handle(settings.tracking_uri, args.model, args.version)
    builds = export_version(
        registry,
        handle,
        modes,
        int8_io=args.int8_io,
        max_accuracy_drop=args.max_accuracy_drop,
        progress=lambda text, fraction: print(f"[{fraction:4.0%}] {text}", file=sys.stderr, flush=True),
    )
    table = report_frame([b.report for b in builds]).drop(columns=["reason"])
    print(table.to_string(index=False))
    for b in builds:
        print(f"{b.report.key}: {'reused the stored build' if b.reused else 'registered'}; {b.report.reason}")
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        for b in builds:
            target = out / f"{args.model}-v{args.version}-{b.report.key}.tflite"
            target.write_bytes(b.read_bytes())
            print(f"wrote {target}")
    return 0 if all(b.report.accepted for b in builds) else 1


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m core`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m core", description="ModelOps command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="seed the demo registry (idempotent)",
        description="Train and register the demo models from data inside scikit-learn; "
        "models that are already seeded are left alone.",
    )
    demo.add_argument(
        "--model", action="append", choices=list(names.ALL_DEMO_MODELS), help="seed only this model (repeatable)"
    )
    demo.set_defaults(func=_cmd_demo)
    srv = sub.add_parser(
        "serve",
        help="run the prediction service",
        description="Serve every registered model's champion and challenger over HTTP (OpenAPI at /docs).",
    )
    srv.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    srv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    srv.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    srv.set_defaults(func=_cmd_serve)
    sim = sub.add_parser(
        "simulate",
        help="send live traffic and feedback to the service",
        description="Send real HTTP requests with held-out rows to the service, post feedback labels "
        "later, and optionally shift the inputs gradually (drift).",
    )
    sim.add_argument("--model", required=True, help="a served model: tabular rows (breast-cancer) or images (digits)")
    sim.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    sim.add_argument("--duration", type=float, default=60.0, help="seconds; 0 runs until Ctrl-C (default 60)")
    sim.add_argument("--label-delay", type=float, default=5.0, help="seconds until a label is posted (default 5)")
    sim.add_argument("--label-fraction", type=float, default=0.8, help="share of requests labelled (default 0.8)")
    sim.add_argument("--drift", type=float, default=0.0, help="feature shift in std devs reached by the end")
    sim.add_argument("--users", type=int, default=1000, help="distinct routing keys (default 1000)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--challenger-share", type=float, help="set the A/B split first (needs the API token)")
    sim.set_defaults(func=_cmd_simulate)
    comp = sub.add_parser(
        "compile",
        help="compile a scikit-learn version to ONNX and verify it",
        description="Convert a registered scikit-learn version with skl2onnx, compare it with the original on "
        "the version's reference data, and store the build and the record on the version.",
    )
    comp.add_argument("--model", required=True)
    comp.add_argument("--version", required=True, type=int)
    comp.set_defaults(func=_cmd_compile)
    adopt = sub.add_parser(
        "adopt",
        help="re-register a trusted pickled scikit-learn version in skops (+ ONNX), verified equal",
        description="Load a cloudpickle/pickle version of a model an operator trusts, log the same estimator as "
        "a new version in skops format after checking it answers identically on the reference rows, compile "
        "it to ONNX where it compiles, and record the lineage (modelops.adopted_from / adopted_as tags and "
        "the edit history).",
    )
    adopt.add_argument("--model", required=True)
    adopt.add_argument("--version", required=True, type=int, help="the pickled version")
    adopt.set_defaults(func=_cmd_adopt)
    exp = sub.add_parser(
        "export",
        help="export a Keras version to TFLite with a quantization report card",
        description="Convert a registered Keras version to TFLite, measure each build against the Keras model "
        "(size, latency, held-out accuracy, agreement), gate it on the accuracy drop, and store it on the "
        "version. Exporting the same version and mode again reuses the stored build. Exit status 1 when a "
        "build is rejected by the gate.",
    )
    exp.add_argument("--model", required=True)
    exp.add_argument("--version", required=True, type=int)
    exp.add_argument(
        "--mode",
        required=True,
        action="append",
        choices=["float32", "dynamic-range", "dynamic", "float16", "int8", "all"],
        help="repeatable; 'all' for the four modes",
    )
    exp.add_argument("--int8-io", action="store_true", help="int8 input and output tensors (int8 mode)")
    exp.add_argument(
        "--max-accuracy-drop", type=float, default=1.0, help="gate: largest accepted drop in points (default 1)"
    )
    exp.add_argument("--output", metavar="DIR", help="also write the .tflite file(s) into DIR")
    exp.set_defaults(func=_cmd_export)
    reg = sub.add_parser(
        "register-keras",
        help="register your own Keras image classifier",
        description="Register a .keras image classifier with its input spec and class names; "
        "the Classify page and the classify route then use it.",
    )
    reg.add_argument("model", metavar="MODEL.keras", help="a model saved with model.save('x.keras')")
    reg.add_argument("--labels", required=True, help="text file: one class name per line, in output order")
    reg.add_argument("--input-size", required=True, type=_image_size, help="square size (224) or HxW (224x160)")
    reg.add_argument("--channels", type=int, default=3, choices=[1, 3], help="1 grayscale, 3 RGB (default 3)")
    reg.add_argument("--scale", type=float, default=255.0, help="pixels are divided by this (default 255)")
    reg.add_argument("--invert", action="store_true", help="invert images first (dark ink on light paper)")
    reg.add_argument("--center", action="store_true", help="centre the content by its bounding box")
    reg.add_argument("--name", help="registered model name (default: the file name without .keras)")
    reg.add_argument("--alias", choices=["champion", "challenger"], help="alias for the new version")
    reg.add_argument("--description", default="", help="version description")
    reg.set_defaults(func=_cmd_register_keras)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a ModelOps error prints its message and exits with status 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ModelOpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
