# The demo's Go service of `docker compose up`: pricing, the gin example of the Go agent
# (agents/go/examples/gin-service, no tracing code of its own) built with `flowtrace-go build` from
# this checkout, so that its functions are method spans under the gin server span.
#
#   docker build -f deploy/demo-go.Dockerfile [--build-arg BASE_IMAGE=IMAGE] [--network host] -t flowtrace-demo-go .
#
# BASE_IMAGE: a Debian bookworm image, e.g. the official node image (default, as the other images)
# or the one deploy/base-image.sh makes where no registry is reachable. The Go toolchain is not
# Debian's (1.19; the agent needs Go 1.26): it is the official Go release as the Go module proxy
# serves it (the module golang.org/toolchain, what GOTOOLCHAIN downloads), checked against the
# SHA-256 below — so one build works with or without Docker Hub: it needs Debian's mirror (curl,
# unzip) and the Go module proxy (the toolchain, ≈ 70 MB, and the agent's modules), nothing else.
# GOPROXY (a build argument) names another proxy; its first entry serves the toolchain.
# Classic-builder syntax only (no BuildKit features): `--network host` where Docker has no bridge.
#
# Cost: cold, ≈ 70 MB of toolchain plus the modules, then `flowtrace-go build` compiles the
# standard library once with its runtime edit and the service's dependencies (gin, the OpenTelemetry
# SDK, gRPC) — minutes on 2 cores (figures in README "Run with Docker Compose"). Warm, the layers are
# reused until agents/go changes; the toolchain and module layers until GO_VERSION or go.sum do.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
ARG GO_VERSION=1.26.8
ARG GO_SHA256_AMD64=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
ARG GO_SHA256_ARM64=02b36b6787b3ac767668f630e2998df45a3b1f9ffee08d1bf3ef6487cd658d99
ARG GOPROXY=https://proxy.golang.org,direct
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates curl unzip \
 && rm -rf /var/lib/apt/lists/*
# The module zip holds the release under golang.org/toolchain@v0.0.1-go<version>.linux-<arch>/.
RUN set -e; arch=$(dpkg --print-architecture); \
    case "$arch" in amd64) sum=$GO_SHA256_AMD64 ;; arm64) sum=$GO_SHA256_ARM64 ;; *) echo "no Go toolchain checksum for $arch" >&2; exit 1 ;; esac; \
    curl -fsSL -o /tmp/go.zip "${GOPROXY%%,*}/golang.org/toolchain/@v/v0.0.1-go${GO_VERSION}.linux-${arch}.zip"; \
    echo "$sum  /tmp/go.zip" | sha256sum -c --quiet; \
    unzip -q /tmp/go.zip -d /tmp/go; \
    mv "/tmp/go/golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-${arch}" /usr/local/go; \
    rm -rf /tmp/go /tmp/go.zip; \
    chmod -R a+x /usr/local/go/bin /usr/local/go/pkg/tool
# GOTOOLCHAIN=local: this release and no other, whatever go.mod says. CGO off: a static binary,
# no C compiler needed.
ENV PATH=/usr/local/go/bin:$PATH \
    GOTOOLCHAIN=local \
    CGO_ENABLED=0
WORKDIR /src/agents/go
# Modules first (a layer that changes only with go.sum), then the agent's and the example's sources
# (not its tests' or benchmark's).
COPY agents/go/go.mod agents/go/go.sum ./
RUN go mod download
COPY agents/go/cmd cmd
COPY agents/go/flowtrace flowtrace
COPY agents/go/ftgin ftgin
COPY agents/go/ftgrpc ftgrpc
COPY agents/go/ftzap ftzap
COPY agents/go/internal internal
COPY agents/go/examples/gin-service examples/gin-service
# The README's two commands: the tool, then the service built through it (the module's own packages
# instrumented: FLOWTRACE_INCLUDE's default).
RUN go build -o /out/flowtrace-go ./cmd/flowtrace-go \
 && /out/flowtrace-go build -o /out/gin-service ./examples/gin-service

FROM ${BASE_IMAGE}
ARG DEMO_UID=10002
# One static binary; no package manager of node's (node itself stays: the healthcheck asks with it,
# and the compose test reads the container's sockets with it).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/lib/node_modules/npm /usr/bin/npm /usr/bin/npx \
 && groupadd --system --gid "$DEMO_UID" demo \
 && useradd --system --uid "$DEMO_UID" --gid demo --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin demo
# Root-owned, read-only to the demo user.
COPY --from=build /out/gin-service /opt/flowtrace/pricing/gin-service
# Inside a container a service must listen beyond loopback to be reached by its neighbours (the
# example reads ADDR and PORT).
ENV ADDR=0.0.0.0 \
    PORT=8085 \
    OTEL_SERVICE_NAME=pricing \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://flowtrace:4317
EXPOSE 8085
USER ${DEMO_UID}:${DEMO_UID}
WORKDIR /opt/flowtrace/pricing
CMD ["/opt/flowtrace/pricing/gin-service"]
