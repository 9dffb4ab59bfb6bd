"""A Keras version logged by plain mlflow.tensorflow (no input spec): the Classify page shows the inferred
spec, and a signed-in user corrects and saves it as the version's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from core import names
from core.config import Settings
from core.registry.facade import Registry
from core.registry.reference import stored_input_spec
from core.store.edits import edits_frame
from tests.serving.conftest import point_dashboard_at, start_service, stop_service

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
COLOURS = "colours"


def _log_plain_keras(settings: Settings) -> None:
    import keras
    import mlflow
    import mlflow.tensorflow

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.uniform(size=(30, 16, 16, 3)).astype("float32"), np.repeat(np.arange(3), 10), epochs=1, verbose=0)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    experiment = mlflow.create_experiment("plain-keras", artifact_location=(settings.home / "plain").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        mlflow.tensorflow.log_model(model, name="model", registered_model_name=COLOURS)
    Registry.from_settings(settings).client.set_registered_model_alias(COLOURS, names.CHAMPION, "1")


def test_the_inferred_spec_is_shown_corrected_and_saved(bc_home: Settings, monkeypatch) -> None:
    _log_plain_keras(bc_home)
    service = point_dashboard_at(start_service(bc_home.home), monkeypatch)
    try:
        _edit_and_save(bc_home)
        with service.client() as c:  # the dashboard asked the running service to reload the version
            info = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[COLOURS]
            assert info["class_names"] == ["red", "green", "blue"]
    finally:
        stop_service(service)


def _edit_and_save(bc_home: Settings) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/classify.py").run()
    at.selectbox(key="classify_model").set_value(COLOURS).run()
    assert not at.exception, at.exception
    assert any("logged without ModelOps' input_spec.json" in w.value for w in at.warning)
    key = f"spec_edit:{COLOURS}:1"
    classes = at.text_area(key=f"{key}-classes")
    assert classes.value == "0\n1\n2"  # output indices until someone names them
    classes.input("red\ngreen").run()
    at.button(key=f"{key}-save").click().run()
    assert not at.exception, at.exception
    assert any("the model has 3 outputs: give 3 class names" in e.value for e in at.error)
    assert stored_input_spec(bc_home.tracking_uri, COLOURS, 1) is None  # nothing saved half-way
    at.text_area(key=f"{key}-classes").input("red\ngreen\nblue").run()
    at.checkbox(key=f"{key}-invert").check().run()
    at.button(key=f"{key}-save").click().run()
    assert not at.exception, at.exception
    assert any(
        "colours v1: input spec saved (16×16×3, 3 classes); the prediction service reloaded it" in s.value
        for s in at.success
    )
    spec = stored_input_spec(bc_home.tracking_uri, COLOURS, 1)
    assert spec is not None and spec.class_names == ["red", "green", "blue"] and spec.invert
    assert any(e.label == "Input spec of v1 (stored with the version)" for e in at.expander)
    edits = edits_frame(Registry.from_settings(bc_home).store, COLOURS)
    assert edits["field"].tolist() == [names.INPUT_SPEC_FILE] and edits["who"].tolist() == ["pytest"]
    version = Registry.from_settings(bc_home).get_version(COLOURS, 1)
    assert version.tags[names.TAG_INPUT_SPEC].endswith("pytest")  # what a service reload compares
