# One image for the dashboard (default command) and the prediction service
# (`python -m core serve --host 0.0.0.0 --port 8000`); no dev tools inside.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    MODELOPS_HOME=/data

RUN useradd --create-home --uid 10001 --user-group modelops \
    && mkdir -p /data \
    && chown modelops:modelops /data

# WORKDIR is the repo root so .streamlit/config.toml applies and `python -m core` resolves.
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY --chown=modelops:modelops core ./core
COPY --chown=modelops:modelops dashboard ./dashboard
COPY --chown=modelops:modelops pages ./pages
COPY --chown=modelops:modelops scripts/healthcheck.py ./scripts/healthcheck.py
COPY --chown=modelops:modelops .streamlit ./.streamlit

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8501 8000

# The service's containers set MODELOPS_HEALTH_URL=http://127.0.0.1:8000/healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "scripts/healthcheck.py"]

CMD ["python", "-m", "streamlit", "run", "dashboard/app.py", "--server.port=8501", "--server.address=0.0.0.0"]
