# aidgraph: build the release binary, then run it on a slim Debian as a non-root user.
# Builds with or without BuildKit (no BuildKit-only instructions).
#   docker build -t aidgraph .
#   docker run -p 8080:8080 -v aidgraph-data:/var/lib/aidgraph aidgraph   # embedded SQLite
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://… -e AIDGRAPH_JWT_SECRET=… aidgraph

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p aidgraph \
 && install -m 0755 target/release/aidgraph /usr/local/bin/aidgraph

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 aidgraph \
 && useradd --system --uid 10001 --gid aidgraph --home-dir /var/lib/aidgraph --create-home \
        --shell /usr/sbin/nologin aidgraph
COPY --from=builder /usr/local/bin/aidgraph /usr/local/bin/aidgraph
# The working directory holds the default SQLite file (aidgraph.db) and its generated secret:
# a volume, so both outlive the container.
WORKDIR /var/lib/aidgraph
VOLUME ["/var/lib/aidgraph"]
USER aidgraph:aidgraph
ENV AIDGRAPH_BIND=0.0.0.0:8080
EXPOSE 8080
# `aidgraph healthcheck` asks the service's /readyz: no curl needed in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["aidgraph", "healthcheck"]
ENTRYPOINT ["aidgraph"]
CMD ["serve"]
