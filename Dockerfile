# syntax=docker/dockerfile:1
# Multi-stage build: dependencies are compiled in their own cached layer, the
# runtime image holds only the binary and runs as a non-root user.

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src

# 1. Dependencies only: manifests and stub sources, so this layer is reused
#    until Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY domain/Cargo.toml domain/Cargo.toml
COPY application/Cargo.toml application/Cargo.toml
COPY adapters/Cargo.toml adapters/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
COPY bootstrap/Cargo.toml bootstrap/Cargo.toml
COPY tests/Cargo.toml tests/Cargo.toml
RUN for crate in domain application adapters migration bootstrap tests; do \
        mkdir -p $crate/src && echo "" > $crate/src/lib.rs; \
    done \
    && echo "fn main() {}" > bootstrap/src/main.rs \
    && mkdir -p tests/suite tests/benches && echo "" > tests/suite/main.rs \
    && echo "fn main() {}" > tests/benches/throughput.rs \
    && cargo build --release --locked -p bootstrap \
    && rm -rf domain application adapters migration bootstrap tests

# 2. The sources.
COPY . .
RUN touch domain/src/lib.rs application/src/lib.rs adapters/src/lib.rs \
        migration/src/lib.rs bootstrap/src/lib.rs bootstrap/src/main.rs \
    && cargo build --release --locked -p bootstrap \
    && cp target/release/hookd /usr/local/bin/hookd

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/hookd --create-home hookd
COPY --from=build /usr/local/bin/hookd /usr/local/bin/hookd
USER hookd
WORKDIR /var/lib/hookd
ENV HOOKD__SERVER__BIND=0.0.0.0:8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
ENTRYPOINT ["hookd"]
CMD ["serve"]
