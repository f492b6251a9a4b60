# The demo's Java service of `docker compose up`: orders, the Spring Boot example of the Java agent
# (agents/java/examples/spring-orders), run under the FlowTrace Java agent built from this checkout.
#
#   docker build -f deploy/demo-java.Dockerfile [--build-arg BASE_IMAGE=IMAGE] [--network host] -t flowtrace-demo-java .
#
# BASE_IMAGE: a Debian bookworm image, e.g. the official node image (default, as the other images)
# or the one deploy/base-image.sh makes where no registry is reachable; the JDK and Maven come from
# Debian's packages. Classic-builder syntax only (no BuildKit features). The build stage needs
# Debian's mirror and Maven Central: `--network host` where Docker has no bridge network.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
# man1: the JDK's packages link their man pages there, and slim Debian images have no such folder.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless maven \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The agent's main sources only: its tests are run by `npm test`, not by an image build.
COPY agents/java/pom.xml agents/java/pom.xml
COPY agents/java/src/main agents/java/src/main
COPY agents/java/examples/spring-orders agents/java/examples/spring-orders
RUN mvn -q -B -f agents/java/pom.xml package -Dmaven.test.skip=true \
 && mvn -q -B -f agents/java/examples/spring-orders/pom.xml package -Dmaven.test.skip=true

FROM ${BASE_IMAGE}
ARG DEMO_UID=10002
# A Java runtime, no compiler, no package manager of node's (node itself stays: the compose test
# reads the container's sockets with it).
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/lib/node_modules/npm /usr/bin/npm /usr/bin/npx \
 && groupadd --system --gid "$DEMO_UID" demo \
 && useradd --system --uid "$DEMO_UID" --gid demo --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin demo
WORKDIR /opt/flowtrace
# Root-owned, read-only to the demo user.
COPY --from=build /src/agents/java/target/flowtrace-agent.jar ./flowtrace-agent.jar
COPY --from=build /src/agents/java/examples/spring-orders/target/spring-orders.jar ./orders/spring-orders.jar
# Inside a container a service must listen beyond loopback to be reached by its neighbours. The
# official agent's exporter defaults to OTLP/HTTP; the demo's collector endpoint is its gRPC port.
ENV SERVER_ADDRESS=0.0.0.0 \
    SERVER_PORT=8083 \
    OTEL_SERVICE_NAME=orders \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://flowtrace:4317 \
    OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
    OTEL_METRICS_EXPORTER=none \
    OTEL_LOGS_EXPORTER=none
EXPOSE 8083
USER ${DEMO_UID}:${DEMO_UID}
WORKDIR /opt/flowtrace/orders
# preferIPv4Stack: bind 0.0.0.0 itself, as the Node.js services do, rather than the JDK's dual-stack ::.
CMD ["java", "-Djava.net.preferIPv4Stack=true", "-javaagent:/opt/flowtrace/flowtrace-agent.jar", "-jar", "spring-orders.jar"]
