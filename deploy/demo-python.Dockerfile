# The demo's Python service of `docker compose up`: recommendations (deploy/demo/recommendations, a
# FastAPI app served by uvicorn), run under the FlowTrace Python agent installed from this checkout
# (agents/python), not from PyPI.
#
#   docker build -f deploy/demo-python.Dockerfile [--build-arg BASE_IMAGE=IMAGE] [--network host] -t flowtrace-demo-python .
#
# BASE_IMAGE: a Debian bookworm image, e.g. the official node image (default, as the other images)
# or the one deploy/base-image.sh makes where no registry is reachable; Python (3.11) comes from
# Debian's packages, the service's packages from PyPI, every version pinned
# (deploy/demo/recommendations/requirements.txt). Classic-builder syntax only (no BuildKit
# features). The build stage needs Debian's mirror and PyPI: `--network host` where Docker has no
# bridge network.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
# The virtual environment lives where the runtime stage puts it (its scripts name their interpreter by path).
RUN python3 -m venv /opt/flowtrace/venv
ENV PATH=/opt/flowtrace/venv/bin:$PATH
WORKDIR /src
# Dependencies first (a layer that changes only with the pins), then the agent's sources, installed
# without dependencies (all pinned above) and without build isolation (the venv's own setuptools,
# plus wheel, which Debian's setuptools 66 needs to build one; both removed with pip afterwards).
COPY deploy/demo/recommendations/requirements.txt deploy/demo/recommendations/requirements.txt
RUN pip install --no-cache-dir --disable-pip-version-check --quiet -r deploy/demo/recommendations/requirements.txt wheel==0.45.1
COPY agents/python/pyproject.toml agents/python/README.md agents/python/
COPY agents/python/src/flowtrace_agent agents/python/src/flowtrace_agent
RUN pip install --no-cache-dir --disable-pip-version-check --quiet --no-deps --no-build-isolation ./agents/python \
 && pip check \
 && pip uninstall --yes --quiet pip setuptools wheel

FROM ${BASE_IMAGE}
ARG DEMO_UID=10002
# Python's runtime only, no package manager of node's (node itself stays: the compose test reads
# the container's sockets with it).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/lib/node_modules/npm /usr/bin/npm /usr/bin/npx \
 && groupadd --system --gid "$DEMO_UID" demo \
 && useradd --system --uid "$DEMO_UID" --gid demo --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin demo
# Root-owned, read-only to the demo user.
COPY --from=build /opt/flowtrace/venv /opt/flowtrace/venv
COPY deploy/demo/recommendations/recommendations_app /opt/flowtrace/recommendations/recommendations_app
# Inside a container a service must listen beyond loopback to be reached by its neighbours (uvicorn
# reads UVICORN_HOST and UVICORN_PORT). The agent traces the modules under the folder it starts in.
# No .pyc files are written: the root file system is read-only in the demo.
ENV PATH=/opt/flowtrace/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UVICORN_HOST=0.0.0.0 \
    UVICORN_PORT=8084 \
    OTEL_SERVICE_NAME=recommendations \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://flowtrace:4317
EXPOSE 8084
USER ${DEMO_UID}:${DEMO_UID}
WORKDIR /opt/flowtrace/recommendations
CMD ["flowtrace-instrument", "uvicorn", "recommendations_app.main:app"]
