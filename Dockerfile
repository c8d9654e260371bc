# Small non-root image running the same command the tests exercise.
# Dependencies come only from deploy/requirements.lock: exact versions, each file checked against its hash.
FROM python:3.11-slim AS build
WORKDIR /src
COPY deploy/requirements.lock ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements.lock

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH PYTHONPATH=/opt/cds \
    CDS_KNOWLEDGE_DIR=/app CDS_DATABASE_URL=sqlite:////data/cds-service.db
RUN groupadd --system --gid 10001 cds \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home cds \
 && mkdir -p /app /data && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
# The code sits apart from the knowledge files, so that mounting a folder at /app overrides only those.
COPY cds_service /opt/cds/cds_service
COPY valuesets /app/valuesets
COPY knowledge /app/knowledge
COPY cards /app/cards
COPY questionnaires /app/questionnaires
USER 10001:10001
WORKDIR /app
EXPOSE 8080
# Liveness only (/healthz: the process answers); readiness (/readyz) is for the load balancer.
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
# The image is for deployment: the production preset unless told otherwise (it then needs
# CDS_TRUSTED_CLIENTS and CDS_PUBLIC_BASE_URL; see compose.prod.yaml). compose.yaml sets development.
ENV CDS_ENV=production
CMD ["python", "-m", "cds_service.cli", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "4"]
