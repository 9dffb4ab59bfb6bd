# One image for the dashboard and (later) the prediction service; pick the command at run time.
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
COPY --chown=modelops:modelops .streamlit ./.streamlit

USER modelops
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"

CMD ["python", "-m", "streamlit", "run", "dashboard/app.py", "--server.port=8501"]
