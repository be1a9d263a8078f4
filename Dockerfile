# FluxSocial: REST API, MCP server and scheduler in one image.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FLUXSOCIAL_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY fluxsocial_mcp ./fluxsocial_mcp
COPY oauth ./oauth
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin fluxsocial \
    && mkdir -p /data && chown fluxsocial /data

USER fluxsocial
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["fluxsocial-mcp", "serve", "--host", "0.0.0.0", "--port", "8000"]
