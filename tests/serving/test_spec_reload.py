"""A Keras version's input spec saved after the fact reaches a running service on reload."""

from __future__ import annotations

from core.config import Settings
from core.flavors.keras_model import InputSpec
from core.registry.facade import Registry
from core.registry.keras import save_input_spec
from tests.dashboard.test_spec_editor import COLOURS, _log_plain_keras
from tests.serving.conftest import start_service, stop_service


def test_a_saved_spec_is_served_after_a_reload(bc_home: Settings) -> None:
    _log_plain_keras(bc_home)
    service = start_service(bc_home.home)
    try:
        with service.client() as c:
            info = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[COLOURS]
            assert info["class_names"] == ["0", "1", "2"]
            spec = InputSpec(height=16, width=16, channels=3, class_names=["red", "green", "blue"])
            save_input_spec(Registry.from_settings(bc_home), COLOURS, 1, spec, "ops", input_shape=(16, 16, 3), units=3)
            reloaded = c.post("/v1/admin/reload", headers=service.admin())
            assert reloaded.status_code == 200, reloaded.text
            info = {m["name"]: m for m in reloaded.json()["models"]}[COLOURS]
            assert info["class_names"] == ["red", "green", "blue"]
    finally:
        stop_service(service)
