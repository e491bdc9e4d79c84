# Multi-stage: Node builds the PWA; a slim Python image migrates and serves.
# The package is installed in place (-e) so `zhengwu migrate` finds alembic/ beside api/.
#   docker build -t zhengwu .
#   docker run -p 8000:8000 -e ZHENGWU_ENV=production -e ZHENGWU_SECRET_KEY=... \
#     -e ZHENGWU_DATABASE_URL=postgres://user:pass@db:5432/zhengwu -v zhengwu-var:/app/var zhengwu

FROM node:20-bookworm-slim AS pwa
WORKDIR /build/pwa
COPY pwa/package.json pwa/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY pwa/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ZHENGWU_VAR_DIR=/app/var ZHENGWU_PWA_DIST=/app/pwa/dist
WORKDIR /app
# Vouchers (文书) embed Noto Serif CJK SC (宋体-like) from Debian's fonts-noto-cjk; `zhengwu backup`
# and `restore` run pg_dump and pg_restore (postgresql-client, 15 on bookworm).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md alembic.ini ./
COPY api/ api/
COPY storage/ storage/
COPY alembic/ alembic/
RUN pip install --no-cache-dir -e . \
    && useradd --system --uid 10001 --home /app zhengwu \
    && mkdir -p /app/var && chown zhengwu /app/var
COPY --from=pwa /build/pwa/dist /app/pwa/dist
USER zhengwu
EXPOSE 8000
# Liveness (the process answers; a database outage does not fail it, so nothing restarts healthy
# processes); readiness for a load balancer is /api/v1/health/ready (compose.yaml's api uses it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health/live', timeout=4).status != 200)"
# Migrations first (idempotent), the demo catalog only into an empty database, then serve
# (exec: `docker stop`'s SIGTERM reaches zhengwu serve, which drains; see ZHENGWU_SHUTDOWN_TIMEOUT).
CMD ["sh", "-c", "zhengwu migrate && zhengwu seed --demo --if-empty && exec zhengwu serve --host 0.0.0.0 --port 8000 --workers ${ZHENGWU_WORKERS:-1}"]
