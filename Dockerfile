# One image for web, worker and beat (docker-compose.yml picks the command).
# Build: the runtime lock only (requirements.lock: hashed, made from pyproject.toml), into a
# virtualenv that the final stage copies; no compiler or pip cache reaches the image.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    SOURCES_DATA_DIR=/data
# gpg decrypts PGP-encrypted files and checks PGP credentials (amperity_sources/gpg.py).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gnupg \
    && rm -rf /var/lib/apt/lists/*
# The app runs as an unprivileged user that owns only its data directory (a volume in compose);
# the code and the virtualenv stay root's and read-only to it.
RUN groupadd --system --gid 10001 sources \
    && useradd --system --uid 10001 --gid sources --create-home --home-dir /home/sources sources \
    && install -d -o sources -g sources /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . .
USER 10001:10001
EXPOSE 8000
# No HEALTHCHECK here: web, worker and beat are checked differently (docker-compose.yml).
CMD ["gunicorn", "amperity_sources.wsgi", "-b", "0.0.0.0:8000", "--workers", "3"]
