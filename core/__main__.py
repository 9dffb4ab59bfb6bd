"""Command line: ``python -m core <command> --help``."""

from __future__ import annotations

import argparse
import logging
import sys

from core.config import Settings
from core.errors import ModelOpsError


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import seed_demo

    models = tuple(args.model) if args.model else None
    results = seed_demo(Settings.from_env(), **({"models": models} if models else {}))
    for r in results:
        state = "kept" if r.skipped else f"created v{', v'.join(map(str, r.created_versions))}"
        print(f"{r.model}: {state}; champion v{r.champion}, challenger v{r.challenger}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from core.serving.app import serve

    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


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
        "--model", action="append", choices=["breast-cancer", "digits"], help="seed only this model (repeatable)"
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
