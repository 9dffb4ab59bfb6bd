"""The service answers the same on ONNX Runtime and on scikit-learn, and validates the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core import names
from core.demo.datasets import breast_cancer_split
from tests.conftest import copy_home
from tests.serving.conftest import Service, start_service, stop_service
from tests.serving.test_service import BAD_INPUTS

BC = names.BREAST_CANCER
_, X_TEST, _, _ = breast_cancer_split()


@pytest.fixture(scope="module")
def sklearn_service(bc_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The same breast-cancer versions served with ONNX turned off."""
    svc = start_service(copy_home(bc_template, tmp_path_factory.mktemp("skl") / "home"), MODELOPS_ONNX="0")
    yield svc
    stop_service(svc)


@pytest.fixture(params=["onnx", "sklearn"])
def any_runtime(request, service: Service, sklearn_service: Service) -> Service:
    return service if request.param == "onnx" else sklearn_service


def test_both_runtimes_answer_alike(service: Service, sklearn_service: Service) -> None:
    body = {"dataframe_split": {"columns": list(X_TEST.columns), "data": X_TEST.values.tolist()}}
    answers = {}
    for label, svc in (("onnx", service), ("sklearn", sklearn_service)):
        with svc.client() as c:
            served = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[BC]
            answers[label] = (
                served["arms"]["champion"]["runtime"],
                c.post(f"/v1/models/{BC}/predict", json=body).json(),
            )
    assert answers["onnx"][0] == "onnxruntime" and answers["sklearn"][0] == "sklearn-trees"
    onnx, sklearn = answers["onnx"][1], answers["sklearn"][1]
    assert onnx["predictions"] == sklearn["predictions"]
    assert np.abs(np.array(onnx["probabilities"]) - np.array(sklearn["probabilities"])).max() <= 1e-5


@pytest.mark.parametrize(("case", "body", "status", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_table_on_both_runtimes(
    any_runtime: Service, case: str, body: dict, status: int, message: str
) -> None:
    with any_runtime.client() as c:
        r = c.post(f"/v1/models/{BC}/predict", json=body)
    assert r.status_code == status and message in r.json()["detail"]
