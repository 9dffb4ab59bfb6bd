"""python_function models behind the estimator interface: the task told from what they return."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from core import names
from core.errors import InvalidInputError, UntrustedModelError
from core.flavors.pyfunc_model import PyfuncClassifier, PyfuncRegressor, adapt, load_local

COLUMNS = ["a", "b"]
PROBE = pd.DataFrame({"a": [0.1, 0.5, 2.0, 3.5], "b": [1.0, 2.0, 3.0, 4.0]})


class Doubler(mlflow.pyfunc.PythonModel):
    """A regression: a + 2b."""

    def predict(self, context: object, model_input: pd.DataFrame, params: object = None) -> np.ndarray:
        return (model_input["a"] + 2 * model_input["b"]).to_numpy(dtype="float64")


class Threshold(mlflow.pyfunc.PythonModel):
    """Integer labels 0/1."""

    def predict(self, context: object, model_input: pd.DataFrame, params: object = None) -> np.ndarray:
        return (model_input["a"] > 1).astype("int64").to_numpy()


class Wide(mlflow.pyfunc.PythonModel):
    """Three columns that are not probabilities."""

    def predict(self, context: object, model_input: pd.DataFrame, params: object = None) -> pd.DataFrame:
        return pd.DataFrame({"x": model_input["a"] * 5, "y": model_input["b"], "z": 1.0})


@pytest.fixture()
def saved(tmp_path: Path):
    def save(model: mlflow.pyfunc.PythonModel) -> object:
        path = tmp_path / f"{type(model).__name__}-{len(list(tmp_path.iterdir()))}"
        mlflow.pyfunc.save_model(str(path), python_model=model, input_example=PROBE.head(2))
        return mlflow.pyfunc.load_model(str(path))

    return save


def test_a_model_returning_floats_is_a_regressor(saved) -> None:
    wrapped = adapt(saved(Doubler()), COLUMNS, PROBE, [], {})
    assert isinstance(wrapped, PyfuncRegressor)
    assert wrapped.predict(PROBE.to_numpy()).tolist() == [2.1, 4.5, 8.0, 11.5]


def test_integer_labels_are_classes_with_zero_one_probabilities(saved) -> None:
    wrapped = adapt(saved(Threshold()), COLUMNS, PROBE, [], {})
    assert isinstance(wrapped, PyfuncClassifier) and wrapped.classes_.tolist() == [0, 1]
    assert wrapped.predict_proba(PROBE).tolist() == [[1, 0], [1, 0], [0, 1], [0, 1]]
    assert wrapped.predict(PROBE).tolist() == [0, 0, 1, 1]


def test_a_label_outside_the_known_classes_is_a_clear_error(saved) -> None:
    with pytest.raises(InvalidInputError, match="gave only 0 on the 2 rows MLflow holds"):
        adapt(saved(Threshold()), COLUMNS, PROBE.head(2), [], {})  # one class seen: refused at load
    wrapped = adapt(saved(Threshold()), COLUMNS, PROBE.head(2), [], {names.TAG_CLASSES: '["0", "2"]'})
    with pytest.raises(ValueError, match=f"not one of its classes \\['0', '2'\\]; tag the version {names.TAG_CLASSES}"):
        wrapped.predict_proba(PROBE)
    tagged = adapt(saved(Threshold()), COLUMNS, PROBE.head(2), [], {names.TAG_CLASSES: "[0, 1]"})
    assert tagged.predict_proba(PROBE).shape == (4, 2)
    learned = adapt(saved(Threshold()), COLUMNS, PROBE.head(2), [], {}, labels=[1, 0])
    assert learned.classes_.tolist() == [0, 1]


def test_the_task_tag_overrides_and_bad_tags_are_named(saved) -> None:
    as_regression = adapt(saved(Threshold()), COLUMNS, PROBE, [], {names.TAG_TASK: "regression"})
    assert isinstance(as_regression, PyfuncRegressor)
    with pytest.raises(InvalidInputError, match=r"tag modelops\.task='ranking'"):
        adapt(saved(Threshold()), COLUMNS, PROBE, [], {names.TAG_TASK: "ranking"})
    with pytest.raises(InvalidInputError, match=r"modelops\.classes is not JSON"):
        adapt(saved(Threshold()), COLUMNS, PROBE, [], {names.TAG_CLASSES: "[0,"})


def test_without_probe_rows_the_output_schema_decides(saved) -> None:
    assert isinstance(adapt(saved(Doubler()), COLUMNS, None, ["double"], {}), PyfuncRegressor)
    with pytest.raises(InvalidInputError, match="cannot tell whether this python_function model"):
        adapt(saved(Doubler()), COLUMNS, None, [], {})


def test_a_table_that_is_not_probabilities_is_refused_with_its_columns(saved) -> None:
    with pytest.raises(InvalidInputError, match=r"returns 3 columns \(x, y, z\) that are not class probabilities"):
        adapt(saved(Wide()), COLUMNS, PROBE, [], {})


def test_an_untrusted_pyfunc_model_is_not_loaded(tmp_path: Path) -> None:
    mlflow.pyfunc.save_model(str(tmp_path / "m"), python_model=Doubler(), input_example=PROBE.head(2))
    with pytest.raises(UntrustedModelError, match="MODELOPS_TRUSTED_MODELS=mine"):
        load_local(tmp_path / "m", "models:/mine/1", trusted=False, model_name="mine")
    assert load_local(tmp_path / "m", "models:/mine/1", trusted=True, model_name="mine") is not None
