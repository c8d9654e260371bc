# A local FHIR R4 server for integration work (the same sekmet-fhir the end-to-end tests use).
FROM python:3.11-slim
RUN pip install --no-cache-dir sekmet-fhir==0.1.1 && useradd --system --uid 10002 fhir && mkdir /data && chown fhir /data
USER fhir
WORKDIR /data
RUN printf 'base_url: http://localhost:8090/fhir\nhost: 0.0.0.0\nport: 8090\ndata_dir: /data\nsimulator: {enabled: false}\nvalidation: {inbound: "off"}\n' > settings.yaml
EXPOSE 8090
CMD ["sekmet", "serve", "-c", "settings.yaml"]
