# Small non-root image running the same command the tests exercise.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY cds_service ./cds_service
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir -c constraints.txt --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CDS_KNOWLEDGE_DIR=/app CDS_DATABASE_URL=sqlite:////data/cds-service.db
RUN useradd --system --uid 10001 --home /app cds && mkdir -p /app /data && chown cds /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels cds-service && rm -rf /wheels
# Knowledge files: reviewed data, overridable by mounting a folder at /app (or setting CDS_KNOWLEDGE_DIR).
COPY valuesets /app/valuesets
COPY knowledge /app/knowledge
COPY cards /app/cards
USER cds
WORKDIR /app
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
# The image is for deployment: the production preset unless told otherwise (it then needs
# CDS_TRUSTED_CLIENTS and CDS_PUBLIC_BASE_URL; see compose.prod.yaml). compose.yaml sets development.
ENV CDS_ENV=production
CMD ["cds-service", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "4"]
