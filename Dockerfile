# syntax=docker/dockerfile:1
# One image for the API, the workers and the one-shot admin commands (docker-compose.yml picks
# the entry point): the same code and `python -m` entry points as `make run`.
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY core ./core
COPY schemas ./schemas
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY workers ./workers
RUN /opt/venv/bin/pip install .

FROM python:${PYTHON_VERSION}-slim
# A fixed, unprivileged user: the code is owned by root and read-only for it.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin jansamvad \
    && install -d -o 10001 -g 10001 /var/lib/jan-samvad/attachments
# (docker-compose.yml mounts the `attachments` volume there: a new volume takes this owner.)
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Run from the source tree (alembic.ini and migrations/ are found beside the packages).
COPY alembic.ini ./
COPY migrations ./migrations
COPY core ./core
COPY schemas ./schemas
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY workers ./workers
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    LOG_FORMAT=json \
    API_HOST=0.0.0.0 \
    DATA_DIR=/tmp/jan-samvad
USER 10001
EXPOSE 8000 9464
# SIGTERM: uvicorn finishes in-flight requests, the worker finishes or hands back its tasks.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "api.main"]
