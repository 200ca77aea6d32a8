# syntax=docker/dockerfile:1
# One image for the API and the worker (two commands: `cutis serve`, `cutis worker`), Python packages at the
# versions of requirements.lock, running as an unprivileged user. compose.yaml runs the whole topology.

# The web app (rule editor) is built by npm from its lock file; only its dist/ reaches the runtime image.
FROM node:22.12-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY graphql /src/graphql
COPY web ./
RUN npm run build

FROM python:3.11.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/cutis/bin:$PATH \
    CUTIS_HOST=0.0.0.0 \
    CUTIS_PORT=8000 \
    CUTIS_DATA_DIR=/var/lib/cutis \
    CUTIS_WEB_DIST=/app/web/dist
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/cutis --create-home --shell /usr/sbin/nologin cutis
WORKDIR /app
# requirements.lock constrains every package pip installs, so the image holds exactly the tested versions.
COPY pyproject.toml requirements.lock ./
COPY dsl dsl
COPY rulebooks rulebooks
COPY tenants tenants
COPY server server
COPY migrations migrations
COPY graphql graphql
RUN python -m venv /opt/cutis \
    && /opt/cutis/bin/pip install --no-cache-dir -c requirements.lock -e . \
    && /opt/cutis/bin/cutis --help > /dev/null
COPY --from=web /src/web/dist web/dist
USER 10001:10001
EXPOSE 8000
# The process answers: /livez. Ready for traffic (database, Redis, migrations at head): /readyz.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=2)"]
CMD ["cutis", "serve", "--no-upgrade"]
