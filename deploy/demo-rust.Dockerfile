# The demo's Rust service of `docker compose up`: warehouse, the axum example of the Rust agent
# (agents/rust/examples/axum-service: `flowtrace::init()` in main, the FlowTrace layer on the
# router, `#[flowtrace::trace]` on its code), built from this checkout.
#
#   docker build -f deploy/demo-rust.Dockerfile [--build-arg BASE_IMAGE=IMAGE] [--build-arg RUST_IMAGE=IMAGE] [--network host] -t flowtrace-demo-rust .
#
# RUST_IMAGE: the build stage, an image with cargo and a C linker for Debian bookworm: the official
# rust image (default; the agent needs Rust 1.88+, Debian's is 1.63), or, where no registry is
# reachable, the one deploy/rust-image.sh makes from BASE_IMAGE and this machine's own Rust
# toolchain (it prints its name for `.env`'s RUST_IMAGE=). The crates come from crates.io, pinned by
# agents/rust/Cargo.lock (--locked). BASE_IMAGE: the runtime stage, a Debian bookworm image as for
# the other images (the binary links bookworm's glibc). Classic-builder syntax only (no BuildKit
# features): `--network host` where Docker has no bridge network.
#
# Cost: cold, crates.io downloads and a debug build of the agent and the example with their
# dependencies (tonic, axum, reqwest, the OpenTelemetry SDK) — minutes on 2 cores (figures in README
# "Run with Docker Compose"); the workspace's dev profile keeps debug info to line tables, and a
# demo needs no optimised build. Warm, the layers are reused until agents/rust changes (the classic
# builder has no cache mounts: any change there rebuilds every crate).
ARG BASE_IMAGE=node:20-bookworm-slim
ARG RUST_IMAGE=rust:1.95.0-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src/agents/rust
# The workspace: its manifest and lock file, the agent (its manifest names its bench, which must
# then exist), its proc-macro and the example; not the scripts.
COPY agents/rust/Cargo.toml agents/rust/Cargo.lock ./
COPY agents/rust/flowtrace-macros flowtrace-macros
COPY agents/rust/flowtrace flowtrace
COPY agents/rust/examples/axum-service examples/axum-service
RUN cargo build --locked -p flowtrace-example-axum \
 && mkdir -p /out && cp target/debug/flowtrace-example-axum /out/

FROM ${BASE_IMAGE}
ARG DEMO_UID=10002
# One binary on bookworm's glibc; no package manager of node's (node itself stays: the healthcheck
# asks with it, and the compose test reads the container's sockets with it).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/lib/node_modules/npm /usr/bin/npm /usr/bin/npx \
 && groupadd --system --gid "$DEMO_UID" demo \
 && useradd --system --uid "$DEMO_UID" --gid demo --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin demo
# Root-owned, read-only to the demo user.
COPY --from=build /out/flowtrace-example-axum /opt/flowtrace/warehouse/flowtrace-example-axum
# Inside a container a service must listen beyond loopback to be reached by its neighbours (the
# example reads ADDR, 0.0.0.0 by default, and PORT).
ENV ADDR=0.0.0.0 \
    PORT=8086 \
    OTEL_SERVICE_NAME=warehouse \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://flowtrace:4317
EXPOSE 8086
USER ${DEMO_UID}:${DEMO_UID}
WORKDIR /opt/flowtrace/warehouse
CMD ["/opt/flowtrace/warehouse/flowtrace-example-axum"]
