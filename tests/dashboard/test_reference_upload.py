"""Reference rows attached from the dashboard to a version MLflow holds none for: checked, stored, recorded."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import names
from core.analysis.reference_upload import attach_reference, check_reference, read_table
from core.config import Settings
from core.demo.datasets import diabetes_frame
from core.errors import InvalidInputError
from core.registry.facade import Registry
from core.registry.reference import load_version_frame
from core.runtime.handles import load_handle
from core.store.edits import edits_frame

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
BARE = "bare-regressor"
X, Y = diabetes_frame()


def _log_bare_regressor(settings: Settings) -> None:
    """A ridge regression logged with a signature only: no input example, no dataset, no reference."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    pipeline = make_pipeline(
        ColumnTransformer([("r", OneHotEncoder(handle_unknown="ignore"), ["region"])], remainder="passthrough"),
        Ridge(),
    ).fit(X, Y)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    experiment = mlflow.create_experiment("bare", artifact_location=(settings.home / "bare").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        mlflow.sklearn.log_model(
            pipeline, name="model", signature=infer_signature(X, pipeline.predict(X)), registered_model_name=BARE
        )
    Registry.from_settings(settings).client.set_registered_model_alias(BARE, names.CHAMPION, "1")


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_rows_are_checked_like_a_prediction_request(foreign_home: Settings) -> None:
    _log_bare_regressor(foreign_home)
    columns = load_handle(foreign_home.tracking_uri, BARE, 1).columns
    good = X.head(100).assign(target=Y.head(100))
    assert list(check_reference(read_table(_csv(good), "ok.csv"), columns, "ok.csv").columns)[-1] == "target"
    cases = [
        (good.assign(city="Oslo"), "ok.csv has column(s) the model does not take: city"),
        (good.drop(columns=["bmi"]), "missing"),
        (good.head(10), "ok.csv has 10 rows; at least 30 are needed"),
        (good.assign(bmi=["heavy", *good["bmi"].iloc[1:]]), "ok.csv: column 'bmi' row 0 must be a number (double)"),
        (  # one bad cell turns the whole column into text: the message still names that cell
            good.assign(bmi=[*good["bmi"].iloc[:7], "heavy", *good["bmi"].iloc[8:]]),
            "ok.csv: column 'bmi' row 7 must be a number (double), got 'heavy'",
        ),
        (good.assign(target=["high", *good["target"].iloc[1:]]), "'target' row 0 must be a number (the model is a"),
    ]
    for frame, message in cases:
        with pytest.raises(InvalidInputError, match=re.escape(message)):
            check_reference(read_table(_csv(frame), "ok.csv"), columns, "ok.csv", task="regression")
    labels = X.head(40).assign(target=["yes", "no"] * 20)
    with pytest.raises(InvalidInputError, match=r"label\(s\) 'no', 'yes' that are not classes of the model \(0, 1\)"):
        check_reference(read_table(_csv(labels), "l.csv"), columns, "l.csv", task="classification", classes=[0, 1])
    with pytest.raises(InvalidInputError, match=r"x\.parquet is not a readable Parquet file"):
        read_table(b"PAR1 not really", "x.parquet")
    buffer = io.BytesIO()
    good.to_parquet(buffer)
    assert len(read_table(buffer.getvalue(), "rows.parquet")) == 100
    registry = Registry.from_settings(foreign_home)
    with pytest.raises(InvalidInputError):
        load_version_frame(registry, BARE, 1, "reference")  # MLflow holds nothing for it
    done = attach_reference(registry, BARE, 1, columns, buffer.getvalue(), "rows.parquet", "ops")
    assert "100 rows, labels in 'target'" in done
    stored = load_version_frame(registry, BARE, 1, "reference")
    assert len(stored) == 100 and stored.attrs["source"].startswith("reference/reference.parquet")
    edits = edits_frame(registry.store, BARE)
    assert edits["field"].tolist() == ["reference"] and edits["who"].tolist() == ["ops"]


def test_the_drift_page_offers_the_upload_and_then_works(foreign_home: Settings) -> None:
    _log_bare_regressor(foreign_home)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/drift.py").run()
    at.selectbox[0].set_value(BARE).run()
    assert not at.exception, at.exception
    assert any("has no reference data" in e.value for e in at.error), [e.value for e in at.error]
    upload = at.get("file_uploader")
    assert upload, "the page offers an upload"
    uploader = next(u for u in at.get("file_uploader") if "drift-reference" in (u.key or ""))
    bad = X.head(50).assign(city="Oslo")
    uploader.set_value(("bad.csv", _csv(bad), "text/csv")).run()
    at.button(key="drift-reference-attach").click().run()
    assert not at.exception, at.exception
    assert any("bad.csv has column(s) the model does not take: city" in e.value for e in at.error)
    uploader = next(u for u in at.get("file_uploader") if "drift-reference" in (u.key or ""))
    uploader.set_value(("rows.csv", _csv(X.head(200).assign(target=Y.head(200))), "text/csv")).run()
    at.button(key="drift-reference-attach").click().run()
    assert not at.exception, at.exception
    assert any("reference rows attached (rows.csv: 200 rows" in s.value for s in at.success), [
        e.value for e in [*at.success, *at.error, *at.info, *at.warning]
    ]
    assert not any("has no reference data" in e.value for e in at.error)
