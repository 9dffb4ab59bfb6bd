"""The true label of a served request."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from core.api.schemas import FeedbackRequest, FeedbackResponse
from core.serving.errors import ERRORS
from core.serving.state import Service
from core.store.predlog import record_feedback

router = APIRouter(tags=["predict"])


@router.post(
    "/v1/feedback",
    summary="Attach the true label to a served request",
    response_model=FeedbackResponse,
    responses=ERRORS,
)
async def post_feedback(body: FeedbackRequest, service: Service) -> FeedbackResponse:
    store = service.manager.registry.store
    stored = await asyncio.to_thread(record_feedback, store, body.request_id, body.label, service.feedback_label)
    return FeedbackResponse(**stored)
