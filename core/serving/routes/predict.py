"""Predictions: tabular rows (MLflow scoring protocol), one image, and SHAP values of rows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse

from core import names
from core.analysis.explain import TabularExplainer, explained_classes
from core.analysis.image_drift import input_stats
from core.api.schemas import (
    ClassifyResponse,
    ClassScore,
    ExplainRequest,
    ExplainResponse,
    OutOfDistribution,
    PredictRequest,
    PredictResponse,
)
from core.errors import InvalidInputError, VersionNotFoundError
from core.runtime.classify import ImageResult, prepare
from core.runtime.handles import ModelHandle
from core.serving.errors import ERRORS, PREDICT_ERRORS
from core.serving.manager import Arm
from core.serving.state import Service, rows_of

router = APIRouter(tags=["predict"])


@router.post(
    "/v1/models/{name}/predict",
    summary="Predict tabular rows (MLflow scoring protocol)",
    response_model=PredictResponse,
    responses=PREDICT_ERRORS,
)
async def predict(name: str, body: PredictRequest, service: Service) -> JSONResponse:
    started = time.perf_counter()
    served = service.served(name, "tabular")
    arm = service.predictor.choose(served, body.routing_key)
    matrix = rows_of(body, arm.handle.columns, service.config.max_rows)
    # Logged in dataframe_split form: compact, and it replays through the predict route.
    inputs = {"columns": [c.name for c in arm.handle.columns], "data": matrix.tolist()}

    def score(on: Arm) -> Awaitable[np.ndarray]:
        return on.batcher.predict(matrix)

    answer = await service.predictor.serve(
        arm, score, route="predict", inputs=inputs, routing_key=body.routing_key, started=started
    )
    service.predictor.shadow(served, score, route="predict", inputs=inputs, routing_key=body.routing_key)
    # Returned as a response, so FastAPI does not re-validate what was just built;
    # `response_model` above still documents the shape.
    return JSONResponse(answer.body())


@router.post(
    "/v1/models/{name}/classify",
    summary="Classify one image (multipart field `image`)",
    response_model=ClassifyResponse,
    responses=PREDICT_ERRORS,
)
async def classify(
    name: str,
    image: Annotated[UploadFile, File(description="PNG, JPEG, WebP, BMP, GIF or TIFF")],
    service: Service,
    k: Annotated[int, Query(ge=1, le=100, description="how many classes to return")] = 5,
    routing_key: Annotated[str | None, Query(max_length=256)] = None,
) -> ClassifyResponse:
    started = time.perf_counter()
    limit = service.config.max_image_bytes
    served = service.served(name, "image")
    arm = service.predictor.choose(served, routing_key)
    data = await image.read(limit + 1)
    if len(data) > limit:
        raise InvalidInputError(f"the image is larger than the limit of {limit:,} bytes")
    filename = image.filename or "image"
    prepared, stats = await asyncio.to_thread(_prepare, arm.handle, filename, data, service.config.max_image_pixels)
    batch = prepared.model_input[None].astype("float32")

    def score(on: Arm) -> Awaitable[np.ndarray]:
        return asyncio.to_thread(on.handle.predict_images, batch)

    inputs = {"filename": image.filename, "bytes": len(data), **stats}
    if prepared.ood_score is not None:
        inputs["ood_score"] = round(prepared.ood_score, 4)
    answer = await service.predictor.serve(
        arm, score, route="classify", inputs=inputs, routing_key=routing_key, started=started
    )
    prepared.probabilities = answer.probabilities[0]
    top = [ClassScore(label=label, probability=p) for label, p in prepared.top_k(k)]
    ood = None
    if prepared.ood_score is not None and answer.version == arm.version:
        ood = OutOfDistribution(flagged=prepared.unlike_training, score=round(prepared.ood_score, 4))
    return ClassifyResponse(
        top_k=top, ood=ood, model=answer.model, version=answer.version, arm=answer.arm, request_id=answer.request_id
    )


def _prepare(handle: ModelHandle, filename: str, data: bytes, max_pixels: int) -> tuple[ImageResult, dict]:
    """The image decoded and preprocessed for ``handle``, and its statistics for the drift log."""
    prepared = prepare(filename, data, handle, max_pixels)
    if prepared.error is not None or prepared.model_input is None:
        raise InvalidInputError(prepared.error or "the image could not be classified")
    spec = handle.input_spec
    stats = input_stats(prepared.model_input, spec.scale if spec else 255.0)
    scores = handle.ood_scores(prepared.model_input[None].astype("float32"))
    prepared.ood_score = None if scores is None else float(scores[0])
    width, height = prepared.original.size
    return prepared, {**stats, "width": float(width), "height": float(height)}


@router.post(
    "/v1/models/{name}/explain",
    summary="SHAP values of tabular rows (any predict payload shape)",
    response_model=ExplainResponse,
    responses=ERRORS,
)
async def explain(name: str, body: ExplainRequest, service: Service) -> JSONResponse:
    started = time.perf_counter()
    if service.manager.get(name).kind == "image":
        raise InvalidInputError(
            f"model {name!r} is an image model; the API explains tabular rows. "
            "Image saliency is on the dashboard's Explain and Classify pages"
        )
    arms = dict(service.served(name, "tabular").arms)
    if body.version is None:
        arm = arms[names.CHAMPION]
    else:
        found = next((a for a in arms.values() if a.version == body.version), None)
        if found is None:
            serving = sorted({a.version for a in arms.values()})
            raise VersionNotFoundError(f"version {body.version} of {name!r} is not served; served: {serving}")
        arm = found
    matrix = rows_of(body, arm.handle.columns, service.config.max_explain_rows)
    explainer = await asyncio.to_thread(service.explainers.get, arm.handle)
    assert isinstance(explainer, TabularExplainer)
    expl = await asyncio.to_thread(explainer.explain, matrix)
    ks = explained_classes(expl, body.output_class)
    rows = range(expl.data.shape[0])
    outputs: np.ndarray = expl.outputs
    service.predictor.observe(arm, "explain", started, [])
    return JSONResponse(
        {
            "model": name,
            "version": arm.version,
            "method": expl.method,
            "feature_names": expl.feature_names,
            "classes": expl.classes,
            "class_names": arm.handle.class_names,
            "explained_class": [expl.classes[k] for k in ks],
            "base_value": [float(expl.base_values[k]) for k in ks],
            "shap_values": [expl.values[i, :, k].tolist() for i, k in zip(rows, ks, strict=True)],
            "output": [float(outputs[i, k]) for i, k in zip(rows, ks, strict=True)],
        }
    )
