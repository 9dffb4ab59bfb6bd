"""Shared fixtures: real MLflow SQLite registries seeded once per session, copied per test.

Seeding is the slow part of the suite (the forest grid search, the ONNX builds, and above all
the two Keras CNNs), so each session template holds only what its tests read, and the bigger
ones are built by copying a smaller one and seeding more into it; nothing is trained twice:

=====================  =====================================  ==========================
template               demo models                            built from
=====================  =====================================  ==========================
``bc_template``        breast-cancer                          seeded
``online_template``    breast-cancer-online                   seeded
``digits_template``    breast-cancer, digits                  ``bc_template`` + digits
``seeded_template``    breast-cancer, digits, breast-cancer-online   ``digits_template`` + online
=====================  =====================================  ==========================

Tests take a private copy (``bc_home``, ``online_home``, ``digits_home``, ``seeded_home``) and
ask for the smallest one that holds what they read; a service over a registry without
``digits`` never imports TensorFlow, which is most of its start-up.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import names
from core.config import Settings

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
# MLflow infers each logged model's pip requirements by loading it again in a fresh interpreter:
# 6-10 s per model (more with TensorFlow), for some 25 models a run (seeding, online candidates,
# the scale-out demo). ModelOps never reads those requirements, so the tests let MLflow fall back
# at once to the flavor's default list. Inherited by the services and CLIs the tests start.
os.environ.setdefault("MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT", "0")

ENV_KEYS = (names.ENV_HOME, names.ENV_TRACKING_URI, names.ENV_DB_URL, names.ENV_API_URL, names.ENV_API_TOKEN)
BC, DIGITS, ONLINE = names.BREAST_CANCER, names.DIGITS, names.BREAST_CANCER_ONLINE


def _point_env_at(home: Path, mp: pytest.MonkeyPatch) -> Settings:
    for key in ENV_KEYS:
        mp.delenv(key, raising=False)
    mp.setenv(names.ENV_HOME, str(home))
    mp.setenv(names.ENV_ACTOR, "pytest")
    # A closed port: pages that talk to the service must cope with it being down, and a
    # developer's own `make run` on :8000 must never be touched by the tests.
    mp.setenv(names.ENV_API_URL, "http://127.0.0.1:9")
    return Settings.from_env()


# -- private copies of a seeded home -------------------------------------------------------
# MLflow keeps absolute artifact locations (experiment, runs, logged models, model versions,
# and each MLmodel file): a plain copy would read, and write new runs into, the template's
# artifacts. The copy's locations are moved to the copy.
_TEXT_ARTIFACTS = ("MLmodel", ".yaml", ".yml", ".json")


def copy_home(template: Path, dest: Path) -> Path:
    """A private copy of a seeded MODELOPS_HOME whose registry points at its own artifacts.

    A copy has the template's run ids, and MLflow caches each run's artifact location by run id
    for the whole process: the cache is emptied here and before each test (``_fresh_mlflow_caches``),
    so in-process code reads and writes the artifacts of the home it was given.
    """
    shutil.copytree(template, dest)
    forget_artifact_locations()
    old, new = str(template.resolve()) + "/", str(dest.resolve()) + "/"
    for db in ("mlflow.db", "modelops.db"):
        if (dest / db).exists():
            _replace_in_sqlite(dest / db, old, new)
    for path in (dest / "artifacts").rglob("*"):
        if path.is_file() and path.name.endswith(_TEXT_ARTIFACTS):
            text = path.read_text(errors="surrogateescape")
            if old in text:
                path.write_text(text.replace(old, new), errors="surrogateescape")
    return dest


def forget_artifact_locations() -> None:
    """Empty MLflow's process-wide cache of artifact repositories (keyed by run or model id alone)."""
    tracking_utils = sys.modules.get("mlflow.tracking._tracking_service.utils")
    if tracking_utils is not None:
        tracking_utils._artifact_repos_cache.clear()


@pytest.fixture(autouse=True)
def _fresh_mlflow_caches() -> None:
    forget_artifact_locations()


def _replace_in_sqlite(db: Path, old: str, new: str) -> None:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]:
                conn.execute(
                    f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                    f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                    (old, new, old),
                )
    conn.close()


def _seed_template(
    factory: pytest.TempPathFactory, name: str, models: tuple[str, ...], base: Path | None = None
) -> Path:
    """A home with ``models`` seeded (into a copy of ``base`` when given), built once per run.

    Under pytest-xdist the workers share one directory: the first worker to need a template
    builds it under a file lock, the others wait and then read it. Templates are never written
    after they are built; tests work on copies.
    """
    from core.demo.seed import seed_demo

    shared = factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else factory.getbasetemp()
    root = shared / "templates" / name
    root.mkdir(parents=True, exist_ok=True)
    home, done = root / "home", root / "built"
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                shutil.rmtree(home, ignore_errors=True)  # a worker that died half-way
                if base is not None:
                    copy_home(base, home)
                with pytest.MonkeyPatch.context() as mp:
                    settings = _point_env_at(home, mp)
                    seed_demo(settings, models=models, progress=lambda _line: None)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return home


@pytest.fixture(scope="session")
def bc_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """breast-cancer only: three sklearn versions with their ONNX builds."""
    return _seed_template(tmp_path_factory, "bc", (BC,))


@pytest.fixture(scope="session")
def online_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """breast-cancer-online only: v1 of the partial_fit model."""
    return _seed_template(tmp_path_factory, "online", (ONLINE,))


@pytest.fixture(scope="session")
def digits_template(tmp_path_factory: pytest.TempPathFactory, bc_template: Path) -> Path:
    """breast-cancer and digits (the Keras CNNs): the breast-cancer template plus digits."""
    return _seed_template(tmp_path_factory, "digits", (DIGITS,), base=bc_template)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory, digits_template: Path) -> Path:
    """The full demo (all three models), for tests that read all of it."""
    return _seed_template(tmp_path_factory, "seeded", (ONLINE,), base=digits_template)


def _home(template: Path, tmp_path: Path, mp: pytest.MonkeyPatch) -> Settings:
    return _point_env_at(copy_home(template, tmp_path / "home"), mp)


@pytest.fixture
def bc_home(bc_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the breast-cancer registry and store; the environment points at it."""
    return _home(bc_template, tmp_path, monkeypatch)


@pytest.fixture
def online_home(online_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the breast-cancer-online registry and store."""
    return _home(online_template, tmp_path, monkeypatch)


@pytest.fixture
def digits_home(digits_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the breast-cancer + digits registry and store."""
    return _home(digits_template, tmp_path, monkeypatch)


@pytest.fixture
def seeded_home(seeded_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A private copy of the full seeded registry and store; the environment points at it."""
    yield _home(seeded_template, tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def foreign_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry written by plain MLflow code (tests/foreign.py), built once per worker."""
    from tests.foreign import build_foreign_registry

    return build_foreign_registry(tmp_path_factory.mktemp("foreign") / "home")


@pytest.fixture
def foreign_home(foreign_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the plain-MLflow registry; the environment points at it."""
    return _home(foreign_template, tmp_path, monkeypatch)


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A MODELOPS_HOME with nothing registered."""
    return _point_env_at(tmp_path / "empty", monkeypatch)


@pytest.fixture
def registry(bc_home: Settings):
    """A registry facade over a private copy of the breast-cancer registry."""
    from core.registry.facade import Registry

    return Registry.from_settings(bc_home)
