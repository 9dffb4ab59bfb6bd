"""Shared fixtures: a real MLflow SQLite registry seeded once per session, copied per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import names
from core.config import Settings

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")

ENV_KEYS = (names.ENV_HOME, names.ENV_TRACKING_URI, names.ENV_DB_URL, names.ENV_API_URL, names.ENV_API_TOKEN)


def _point_env_at(home: Path, mp: pytest.MonkeyPatch) -> Settings:
    for key in ENV_KEYS:
        mp.delenv(key, raising=False)
    mp.setenv(names.ENV_HOME, str(home))
    mp.setenv(names.ENV_ACTOR, "pytest")
    # A closed port: pages that talk to the service must cope with it being down, and a
    # developer's own `make run` on :8000 must never be touched by the tests.
    mp.setenv(names.ENV_API_URL, "http://127.0.0.1:9")
    return Settings.from_env()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MODELOPS_HOME with the full demo seeded (both models), built once per session."""
    from core.demo.seed import seed_demo

    home = tmp_path_factory.mktemp("seeded") / "home"
    with pytest.MonkeyPatch.context() as mp:
        settings = _point_env_at(home, mp)
        seed_demo(settings, progress=lambda _line: None)
    return home


@pytest.fixture
def seeded_home(seeded_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A private copy of the seeded registry and store; the environment points at it."""
    yield _point_env_at(copy_home(seeded_template, tmp_path / "home"), monkeypatch)


def copy_home(template: Path, dest: Path) -> Path:
    """A private copy of a seeded MODELOPS_HOME (registry, store and artifact paths)."""
    shutil.copytree(template, dest)
    return dest


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A MODELOPS_HOME with nothing registered."""
    return _point_env_at(tmp_path / "empty", monkeypatch)


@pytest.fixture
def registry(seeded_home: Settings):
    """A registry facade over the private seeded copy."""
    from core.registry.facade import Registry

    return Registry.from_settings(seeded_home)
