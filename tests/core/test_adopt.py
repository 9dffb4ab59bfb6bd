"""Adopting a trusted pickled version: a new skops version that answers identically, lineage both ways."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import names
from core.config import Settings
from core.edge.adopt import adopt_version
from core.errors import InvalidInputError, UntrustedModelError
from core.registry.facade import Registry
from core.runtime.handles import load_handle
from core.store.edits import edits_frame
from core.store.trust import record_trust
from tests.foreign import CHURN, DIABETES
from tests.helpers import run_cli_in_process

ROOT = Path(__file__).resolve().parents[2]


def test_a_trusted_pickled_version_is_adopted_as_skops_with_the_same_answers(foreign_home: Settings) -> None:
    registry = Registry.from_settings(foreign_home)
    with pytest.raises(UntrustedModelError, match=r"churn is not trusted .* an operator must trust the model first"):
        adopt_version(registry, CHURN, 2, "ops")
    assert len(registry.list_versions(CHURN)) == 2  # nothing registered on a refusal
    record_trust(registry.store, CHURN, True, "ops", "our build")
    adoption = adopt_version(registry, CHURN, 2, "ops")
    assert adoption.new_version == 3 and adoption.rows_compared == 2000
    assert adoption.onnx_status in ("passed", "failed", "unsupported")  # string columns: skl2onnx refuses today
    uri = foreign_home.tracking_uri
    adopted = load_handle(uri, CHURN, 3)  # no trust needed: skops
    original = load_handle(uri, CHURN, 2, trusted=True)
    assert [c.name for c in adopted.columns] == [c.name for c in original.columns]
    assert {c.name: c.type for c in adopted.columns}["contract"] == "string"  # a signature it never had
    from core.demo.datasets import churn_frame

    X, _ = churn_frame(rows=300, seed=11)
    rows = X.to_numpy(dtype=object)
    np.testing.assert_array_equal(adopted.predict_proba(rows), original.predict_proba(rows))
    new, old = registry.get_version(CHURN, 3), registry.get_version(CHURN, 2)
    assert new.tags[names.TAG_ADOPTED_FROM] == "v2" and old.tags[names.TAG_ADOPTED_AS] == "3"
    edits = edits_frame(registry.store, CHURN)
    assert {"tag:modelops.adopted_from", "tag:modelops.adopted_as"} <= set(edits["field"])
    assert set(edits["who"]) == {"ops"}
    with pytest.raises(InvalidInputError, match="was adopted already, as v3"):
        adopt_version(registry, CHURN, 2, "ops")
    with pytest.raises(InvalidInputError, match="stored as 'skops' already"):
        adopt_version(registry, CHURN, 1, "ops")


def test_the_cli_adopts_and_explains_a_refusal(
    foreign_home: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = run_cli_in_process(capsys, "adopt", "--model", CHURN, "--version", "2")
    assert refused.returncode == 2 and "churn is not trusted" in refused.stderr and "Traceback" not in refused.stderr
    again = run_cli_in_process(capsys, "adopt", "--model", DIABETES, "--version", "1")
    assert again.returncode == 2 and "stored as 'skops' already" in again.stderr
    # the real command, in its own interpreter, with the model trusted by the environment
    env = {**os.environ, names.ENV_HOME: str(foreign_home.home), names.ENV_TRUSTED_MODELS: CHURN}
    command = [sys.executable, "-m", "core", "adopt", "--model", CHURN, "--version", "2"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "churn v2 adopted as v3 (skops)" in done.stdout
