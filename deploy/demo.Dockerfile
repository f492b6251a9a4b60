# The demo services of `docker compose up` (deploy/demo/): gateway, inventory, payments and the load
# generator, in one image; the service is chosen by the command (see docker-compose.yml).
#
#   docker build -f deploy/demo.Dockerfile [--build-arg BASE_IMAGE=IMAGE] [--network host] -t flowtrace-demo .
#
# BASE_IMAGE: any Debian-based image with node (>= 20.6) and npm in /usr/local/bin or /usr/bin, e.g.
# the official node image (default) or the one deploy/base-image.sh makes where no registry is
# reachable. Classic-builder syntax only (no BuildKit features). The build stage needs the npm
# registry: `--network host` where Docker has no bridge network.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY agents/node/package.json agents/node/tsconfig.json agents/node/
COPY agents/node/src agents/node/src
COPY agents/node/bench agents/node/bench
# The agent's runtime dependencies only (pinned by the lock file; no collector, no ClickHouse), then
# the compiler beside them, in a folder of its own so that it never reaches the runtime stage.
RUN npm install --omit=dev --include-workspace-root=false -w @flowtrace/agent-node --ignore-scripts --no-audit --no-fund \
 && TS=$(node -p "require('./package-lock.json').packages['node_modules/typescript'].version") \
 && TYPES=$(node -p "require('./package-lock.json').packages['node_modules/@types/node'].version") \
 && mkdir -p /tools && cd /tools && npm init -y >/dev/null \
 && npm install --no-audit --no-fund "typescript@$TS" "@types/node@$TYPES" \
 && cd /src/agents/node && /tools/node_modules/.bin/tsc -p tsconfig.json --typeRoots /tools/node_modules/@types \
 && rm -rf dist/bench

FROM ${BASE_IMAGE}
ARG DEMO_UID=10002
# No package manager at run time: the demo only runs node.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/lib/node_modules/npm /usr/bin/npm /usr/bin/npx \
 && groupadd --system --gid "$DEMO_UID" demo \
 && useradd --system --uid "$DEMO_UID" --gid demo --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin demo
WORKDIR /opt/flowtrace
# Root-owned, read-only to the demo user. node_modules/@flowtrace/agent-node is the workspace link.
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/agents/node/package.json ./agents/node/package.json
COPY --from=build /src/agents/node/dist ./agents/node/dist
COPY deploy/demo ./deploy/demo
# Inside a container a service must listen beyond loopback to be reached by its neighbours.
ENV HOST=0.0.0.0 \
    NODE_ENV=production \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://flowtrace:4317
EXPOSE 8080 8081 8082
USER ${DEMO_UID}:${DEMO_UID}
WORKDIR /opt/flowtrace/deploy/demo/gateway
# The agent is loaded on the command line, not through NODE_OPTIONS, so that `docker exec node …`
# (the healthchecks) runs untraced.
CMD ["node", "--require", "@flowtrace/agent-node/register", "server.js"]
