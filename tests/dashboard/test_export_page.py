"""AppTest of the Edge export page: export with progress, report card, gate, downloads that load."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.config import Settings

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("../pages/export.py").run()
    assert not at.exception, at.exception
    return at


def test_export_shows_the_report_card_and_downloads_a_loadable_build(digits_home: Settings) -> None:
    at = _page()
    assert at.selectbox(key="export_model").value == "digits"
    assert any("has no TFLite builds yet" in c.value for c in at.caption)
    at.multiselect(key="export_modes").set_value(["dynamic-range", "int8"]).run()
    at.button(key="export-run").click().run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "Exported dynamic-range, int8." in at.success[0].value
    table = at.dataframe[0].value
    assert list(table["build"]) == ["dynamic-range", "int8"]
    assert set(table["gate"]) == {"accepted"} and (table["size vs Keras"] < 0.2).all()
    assert at.get("plotly_chart")
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == [
        f"{key}.tflite ({size:.0f} KiB)" for key, size in zip(table["build"], table["size (KiB)"], strict=True)
    ]
    # Exporting again reuses what is stored.
    at.button(key="export-run").click().run()
    assert "Reused stored dynamic-range, int8." in at.success[0].value

    # The Registry page lists the builds of digits.
    at.switch_page("../pages/registry.py").run()
    at.selectbox(key="selected_model").set_value("digits").run()
    assert not at.exception
    builds = next(d.value for d in at.dataframe if "build" in d.value.columns)
    assert sorted(builds["build"]) == ["dynamic-range", "int8"]
    assert any(b.label == "Download .tflite" for b in at.get("download_button"))
