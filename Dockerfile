# syntax=docker/dockerfile:1

# One image for every process of Estafeta: the gateway (default CMD), each Celery worker
# service, beat and Flower differ only in their command (see docker-compose.yml).

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src

COPY pyproject.toml README.md ./
COPY routing.py ./
COPY estafeta/ estafeta/
COPY gateway/ gateway/
COPY workers/ workers/
COPY slacksim/ slacksim/

# Wheels for the project and every dependency, so the final stage needs no build tools.
RUN pip wheel --wheel-dir /wheels ".[monitoring]"


FROM python:3.11-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Mounted rather than copied, so the wheels never end up in a layer of the final image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "estafeta[monitoring]"

# /data is owned by the app user in the image, so a fresh named volume mounted there
# inherits that ownership and the non-root processes can write to it.
RUN groupadd --system --gid 10001 estafeta \
    && useradd --system --uid 10001 --gid estafeta --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin estafeta \
    && install -d -o estafeta -g estafeta /data

WORKDIR /app

ENV DATA_DIR=/data \
    PYTHONUNBUFFERED=1

USER estafeta

EXPOSE 8000

# slim has no curl. The shell form lets ${PORT:-8000} be expanded when the check runs;
# urlopen raises on any non-2xx answer, so python exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORT:-8000}/healthz', timeout=3)"

# gateway/gunicorn_conf.py is a module of the installed gateway package.
CMD ["gunicorn", "-c", "python:gateway.gunicorn_conf", "gateway:create_app()"]
