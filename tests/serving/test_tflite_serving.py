"""The classify route served by an accepted TFLite build (MODELOPS_TFLITE_MODELS), on a real service."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from core import names
from core.config import Settings
from core.demo.datasets import digits_images
from core.edge.export import export_version
from core.registry.facade import Registry
from core.runtime.classify import classify_images
from core.runtime.handles import load_handle
from core.serving.config import parse_tflite_models
from tests.conftest import copy_home
from tests.serving.conftest import Service, start_service, stop_service


@pytest.fixture
def tflite_service(digits_template: Path, tmp_path: Path) -> Iterator[Service]:
    home = copy_home(digits_template, tmp_path / "home")
    settings = Settings.from_env({names.ENV_HOME: str(home)})
    registry = Registry.from_settings(settings)
    export_version(registry, load_handle(settings.tracking_uri, names.DIGITS, 2), ["int8"])
    service = start_service(home, MODELOPS_TFLITE_MODELS="digits=int8")
    try:
        yield service
    finally:
        stop_service(service)


def test_classify_is_served_by_litert_and_agrees_with_keras(tflite_service: Service) -> None:
    with tflite_service.client() as c:
        served = {m["name"]: m for m in c.get("/v1/models").json()["models"]}
    arms = served[names.DIGITS]["arms"]
    assert arms["champion"]["runtime"] == "litert-int8"
    assert "int8 build" in arms["champion"]["runtime_reason"]
    assert arms["challenger"]["runtime"] == "keras"  # v1 has no build: Keras, with the reason
    assert "no int8 TFLite build registered" in arms["challenger"]["runtime_reason"]

    _, images, _, _ = digits_images()
    keras = load_handle(tflite_service.settings.tracking_uri, names.DIGITS, 2)
    agree = 0
    with tflite_service.client() as c:
        for i in range(30):
            buf = io.BytesIO()
            Image.fromarray(255 - images[i]).save(buf, "PNG")
            r = c.post(f"/v1/models/{names.DIGITS}/classify", files={"image": ("d.png", buf.getvalue(), "image/png")})
            assert r.status_code == 200, r.text
            (expected,) = classify_images(keras, [("d.png", buf.getvalue())])
            agree += r.json()["top_k"][0]["label"] == expected.top_k(1)[0][0]
    assert agree >= 29


def test_tflite_configuration_is_parsed_strictly() -> None:
    assert parse_tflite_models(" digits=int8, other=FLOAT16 ,x=int8-int8io") == {
        "digits": "int8",
        "other": "float16",
        "x": "int8-int8io",
    }
    with pytest.raises(ValueError, match="expected model=mode"):
        parse_tflite_models("digits")
    from core.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="unknown export mode 'int4'"):
        parse_tflite_models("digits=int4")
