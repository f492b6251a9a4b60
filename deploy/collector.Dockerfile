# The FlowTrace collector with its embedded ClickHouse store (data in /data).
#
#   docker build -f deploy/collector.Dockerfile [--build-arg BASE_IMAGE=IMAGE] [--network host] -t flowtrace .
#
# BASE_IMAGE: any Debian-based image (glibc: the embedded engine is a glibc library) with node
# (>= 20) and npm, e.g. the official node image (default) or the one deploy/base-image.sh makes
# where no registry is reachable. Classic-builder syntax only (no BuildKit features). The build
# stage needs the npm registry: `--network host` where Docker has no bridge network.
#
# Runs as the unprivileged user `flowtrace` (uid/gid 10001), never root. The application in
# /opt/flowtrace belongs to root and is read-only to that user, so a compromised collector cannot
# rewrite its own code; the only place it can write is /data, which it owns (mode 0700; the
# collector creates its files 0600/0700). A volume or bind mount on /data must be writable by
# uid 10001 (e.g. `chown -R 10001:10001 ./data`, or `--user` with the owner of the directory).
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY agents ./agents
COPY collector ./collector
COPY exporters ./exporters
COPY bin ./bin
COPY dashboard ./dashboard
# A workspace the root build builds (the VS Code extension's bundle): present so `prepare` runs whole.
COPY integrations/vscode ./integrations/vscode
# Installing runs `prepare` (the TypeScript build, the dashboard's Vite build, the extension's
# bundle); then only the runtime dependencies stay. The workspaces' links go too: the collector
# never loads the Node agent or the extension, and serves the dashboard's built files, not its sources.
# (`npm install`, not `npm ci`: the lock file lists only the linux-x64 build of the embedded engine.)
RUN npm install --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@flowtrace node_modules/flowtrace-vscode

FROM ${BASE_IMAGE}
ARG FLOWTRACE_UID=10001
# No package manager at run time: the collector only runs node.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/lib/node_modules/npm /usr/bin/npm /usr/bin/npx \
 && groupadd --system --gid "$FLOWTRACE_UID" flowtrace \
 && useradd --system --uid "$FLOWTRACE_UID" --gid flowtrace --home-dir /data --no-create-home --shell /usr/sbin/nologin flowtrace \
 && mkdir -p /data && chown flowtrace:flowtrace /data && chmod 0700 /data
WORKDIR /opt/flowtrace
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
# The collector finds the dashboard's build beside its package.json (collector/src/server/dashboard.ts).
COPY --from=build /src/dashboard/package.json ./dashboard/package.json
COPY --from=build /src/dashboard/dist ./dashboard/dist
ENV FLOWTRACE_DATA=/data \
    NODE_ENV=production
# In a container every port must listen beyond loopback to be published: the API then needs a
# token, and the first admin token is created in the data volume (README "Security").
ENV FLOWTRACE_OTLP_GRPC=0.0.0.0:4317 \
    FLOWTRACE_OTLP_HTTP=0.0.0.0:4318 \
    FLOWTRACE_API=0.0.0.0:8686 \
    FLOWTRACE_AUTH_BOOTSTRAP_TOKEN_FILE=/data/bootstrap-token
VOLUME /data
EXPOSE 4317 4318 8686
# Numeric, so that Kubernetes runAsNonRoot can verify it.
USER ${FLOWTRACE_UID}:${FLOWTRACE_UID}
ENTRYPOINT ["node", "bin/flowtrace.js"]
CMD ["serve"]
