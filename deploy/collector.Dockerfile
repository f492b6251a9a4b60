# The FlowTrace collector with its embedded ClickHouse store (data in /data).
#
# Runs as the unprivileged user `flowtrace` (uid/gid 10001), never root. The application in
# /opt/flowtrace belongs to root and is read-only to that user, so a compromised collector cannot
# rewrite its own code; the only place it can write is /data, which it owns (mode 0700; the
# collector creates its files 0600/0700). A volume or bind mount on /data must be writable by
# uid 10001 (e.g. `chown -R 10001:10001 ./data`, or `--user` with the owner of the directory).
FROM node:20-bookworm-slim
ARG FLOWTRACE_UID=10001
WORKDIR /opt/flowtrace
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY agents ./agents
COPY collector ./collector
COPY exporters ./exporters
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
RUN groupadd --system --gid "$FLOWTRACE_UID" flowtrace \
 && useradd --system --uid "$FLOWTRACE_UID" --gid flowtrace --home-dir /data --no-create-home --shell /usr/sbin/nologin flowtrace \
 && mkdir -p /data && chown flowtrace:flowtrace /data && chmod 0700 /data
ENV FLOWTRACE_DATA=/data
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
