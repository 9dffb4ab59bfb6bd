"""The usual tutorial image service, as the benchmark's baseline: ``model.predict`` per image.

Run: ``TUTORIAL_MODEL=path/to/model.keras uvicorn bench.tutorial_image_service:app``.
"""

from __future__ import annotations

import io
import os

import keras
import numpy as np
from fastapi import FastAPI, File, UploadFile
from PIL import Image, ImageOps

model = keras.saving.load_model(os.environ["TUTORIAL_MODEL"], safe_mode=True, compile=False)
app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
async def predict(image: UploadFile = File(...)) -> dict[str, object]:  # noqa: B008 - the tutorial style
    img = ImageOps.invert(Image.open(io.BytesIO(await image.read())).convert("L")).resize((28, 28))
    x = (np.asarray(img, dtype="float32") / 255.0)[None, ..., None]
    proba = model.predict(x, verbose=0)[0]
    return {"label": int(np.argmax(proba)), "probability": float(np.max(proba))}
