"""Request and response models: the service's contract, as published at ``/docs``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PredictRequest(BaseModel):
    """MLflow's scoring protocol plus an optional ``routing_key``. Send exactly one payload."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"dataframe_split": {"columns": ["mean radius", "..."], "data": [[17.99, "..."]]}},
                {"dataframe_records": [{"mean radius": 17.99, "...": "..."}], "routing_key": "user-42"},
            ]
        },
    )

    dataframe_split: dict[str, Any] | None = Field(None, description="{'columns': [...], 'data': [[...], ...]}")
    dataframe_records: list[dict[str, Any]] | None = Field(None, description="[{column: value, ...}, ...]")
    inputs: Any = Field(None, description="records, rows in signature order, or {column: [values]}")
    instances: Any = Field(None, description="as 'inputs' (TF-serving style)")
    params: dict[str, Any] | None = Field(None, description="accepted for MLflow compatibility; ignored")
    routing_key: str | None = Field(
        None, max_length=256, description="sticky A/B arm: the same key always reaches the same arm"
    )


class ExplainRequest(PredictRequest):
    """Rows to explain, in any predict payload shape, plus the class and version to explain."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [{"dataframe_records": [{"mean radius": 17.99, "...": "..."}], "class": 1, "version": 3}]
        },
    )

    output_class: Any = Field(
        None,
        alias="class",
        description="class whose probability is explained (default: the positive class of a binary model, "
        "else each row's predicted class)",
    )
    version: int | None = Field(None, ge=1, description="a served version (default: the champion)")


class ExplainResponse(BaseModel):
    """SHAP values per row: ``base_value + sum(shap_values) == output`` for each row."""

    model: str
    version: int
    method: str = Field(description="tree (exact TreeExplainer) or permutation")
    feature_names: list[str]
    classes: list[Any]
    class_names: list[str] = Field(description="display name of each class, in `classes` order")
    explained_class: list[Any] = Field(description="the class explained for each row")
    base_value: list[float] = Field(description="expected probability of the explained class, per row")
    shap_values: list[list[float]] = Field(description="one value per feature, per row")
    output: list[float] = Field(description="the model's probability of the explained class, per row")


class TrainRequest(PredictRequest):
    """Labelled rows for the online candidate: any predict payload shape plus one label per row."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"dataframe_records": [{"mean radius": 17.99, "...": "..."}], "labels": [0]}]},
    )

    labels: list[Any] = Field(description="the true class of each row, in order")


class PredictResponse(BaseModel):
    """Predictions with their probabilities and who served them."""

    predictions: list[Any] = Field(description="the predicted class label per row")
    probabilities: list[list[float]] | None = Field(
        description="class probabilities per row, in `classes` order (null for a regressor)"
    )
    classes: list[Any]
    class_names: list[str] = Field(
        description="display name of each class, in `classes` order (the version's `modelops.class_names` tag, "
        "else the class as text)"
    )
    model: str
    version: int
    arm: str
    request_id: str


class ClassScore(BaseModel):
    """One class and its probability."""

    label: str
    probability: float


class OutOfDistribution(BaseModel):
    """How far the picture is from the pictures the version was trained on."""

    flagged: bool = Field(description="true: not like anything this model was trained on; the answer is a guess")
    score: float = Field(
        description="mean distance to the nearest training pictures ÷ the version's threshold; above 1 is flagged"
    )


class ClassifyResponse(BaseModel):
    """Top-k classes of one image."""

    top_k: list[ClassScore]
    ood: OutOfDistribution | None = Field(
        default=None, description="the out-of-distribution check; null when the version has no training pictures"
    )
    model: str
    version: int
    arm: str
    request_id: str


class FeedbackRequest(BaseModel):
    """The true label of a served request."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    label: Any = Field(description="the truth for the request's first row: one of `classes`, or a number")


class FeedbackResponse(BaseModel):
    """Where the label was attached."""

    request_id: str
    model: str
    version: int
    arm: str


class TrafficRequest(BaseModel):
    """The A/B split of one model."""

    model_config = ConfigDict(extra="forbid")

    challenger_share: float = Field(
        ge=0.0, le=1.0, strict=True, description="fraction of requests the challenger answers (a JSON number)"
    )
    shadow: bool = Field(False, strict=True, description="champion answers all; the challenger gets a logged copy")


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: what went wrong, in words."""

    detail: Any


# -- health -----------------------------------------------------------------------------------
class HealthResponse(BaseModel):
    """The process is alive."""

    status: str = Field(description="always `ok`")


class ReadyResponse(BaseModel):
    """Whether every model with a champion serves it (answered with 503 when not)."""

    ready: bool
    models: dict[str, str] = Field(description="model name -> state (ready, degraded, loading, failed)")


# -- what is served -----------------------------------------------------------------------------
class ArmInfo(BaseModel):
    """The version one alias serves and the runtime it runs on."""

    version: int
    runtime: str = Field(description="onnxruntime, sklearn-trees, sklearn, keras, litert-<mode>, ...")
    runtime_reason: str = Field(description="why this runtime (e.g. why not the compiled build)")
    loaded_at: float = Field(description="Unix time the version was loaded")


class InputColumn(BaseModel):
    """One input column of the champion's signature."""

    name: str
    type: str = Field(description="MLflow column type: double, long, string, boolean, ...")
    required: bool


class TrafficInfo(BaseModel):
    """The A/B split of one model."""

    champion_share: float
    challenger_share: float
    shadow: bool = Field(description="the champion answers all; the challenger gets a logged copy")


class ServedModelInfo(BaseModel):
    """The serving state of one registered model."""

    name: str
    kind: str | None = Field(description="tabular or image (null until a champion is loaded)")
    state: str = Field(description="ready, degraded (an alias is not served as the registry says), loading, failed")
    arms: dict[str, ArmInfo] = Field(description="alias -> what it serves")
    registry_aliases: dict[str, int] = Field(description="alias -> version, as the registry says")
    traffic: TrafficInfo
    inputs: list[InputColumn] = Field(description="the champion's input columns (empty for image models)")
    task: str | None = Field(
        default=None, description="classification or regression (a model without predict_proba); null until loaded"
    )
    classes: list[Any] = Field(description="the champion's classes")
    class_names: list[str] = Field(description="display name of each class, in `classes` order")
    last_error: str | None = Field(description="the last load failure, if any")
    last_error_at: float | None = Field(description="Unix time of the last load failure")
    next_retry_at: float | None = Field(
        default=None, description="Unix time of the next load attempt (the wait doubles up to 5 minutes)"
    )


class ServedModels(BaseModel):
    """Every served model, and when the registry was last followed."""

    models: list[ServedModelInfo]
    last_sync_at: float | None = Field(description="Unix time of the last registry sync")
    last_sync_error: str | None = Field(description="why the last registry sync failed, if it did")

    def get(self, name: str) -> ServedModelInfo | None:
        """The model called ``name``, or ``None`` when it is not served."""
        return next((m for m in self.models if m.name == name), None)

    def by_name(self) -> dict[str, ServedModelInfo]:
        """The served models keyed by name."""
        return {m.name: m for m in self.models}


# -- online learning ----------------------------------------------------------------------------
class OnlineUpdate(BaseModel):
    """One evaluation of an online candidate and what followed from it."""

    event: str = Field(description="rejected, evaluated, registered or promoted")
    accepted: bool = Field(description="the candidate passed the gate")
    parent_version: int
    new_version: int | None = Field(description="the version registered from the candidate, if any")
    rows: int = Field(description="rows the candidate saw since its parent")
    candidate_accuracy: float = Field(description="held-out accuracy of the candidate (a regressor: its MAE)")
    champion_version: int
    champion_accuracy: float = Field(description="held-out accuracy of the champion (a regressor: its MAE)")
    margin_points: float = Field(description="allowed accuracy points below the champion (a regressor: % MAE above)")
    reason: str
    metric: str = Field("accuracy", description="what the two figures are: accuracy, or mae for a regressor")


class _ForModel(BaseModel):
    model: str


class EvaluateResponse(OnlineUpdate, _ForModel):
    """``POST …/train/evaluate``: ``model``, then the evaluation (the last base's fields come first)."""


class TrainResponse(BaseModel):
    """One applied training batch, and the evaluation it triggered (every N rows)."""

    model: str
    batch: int = Field(description="the batch's number: batches are applied in this order")
    rows: int
    rows_since_parent: int
    parent_version: int
    update: OnlineUpdate | None = Field(description="the every-N evaluation, when this batch triggered it")


class OnlineState(BaseModel):
    """The online candidate of one model and how it is judged."""

    model: str
    parent_version: int
    rows_since_parent: int
    batches: int = Field(description="batches applied since the service started")
    eval_every: int = Field(description="rows between evaluations (0: on demand only)")
    margin_points: float
    auto_register: bool
    auto_promote: bool
    last_update: OnlineUpdate | None


class TrustRequest(BaseModel):
    """An operator's decision on a model's pickled (cloudpickle/pickle) versions."""

    model_config = ConfigDict(extra="forbid")

    trusted: bool = Field(True, strict=True, description="true: its pickled versions may load; false: never")
    reason: str = Field("", max_length=500, description="why, for the record")


class TrustResponse(BaseModel):
    """The model's trust after the decision, and what is served now."""

    model: str
    trusted: bool
    why: str = Field(description="on whose word: the environment's list or the recorded decision")
    served: ServedModelInfo | None = Field(description="the model's serving state after the reload")
