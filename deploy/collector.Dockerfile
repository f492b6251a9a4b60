# The FlowTrace collector with its embedded ClickHouse store (data in /data).
FROM node:20-bookworm-slim
WORKDIR /opt/flowtrace
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY agents ./agents
COPY collector ./collector
COPY exporters ./exporters
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
ENV FLOWTRACE_DATA=/data
VOLUME /data
EXPOSE 4317 4318 8686
ENTRYPOINT ["node", "bin/flowtrace.js"]
CMD ["serve"]
