# Multi-stage build: dependencies are compiled in their own cached layer, the
# runtime image holds only the (stripped) binary and runs as a non-root user.
# No `# syntax=` line: BuildKit would fetch a frontend image for it, and
# nothing here needs more than the built-in Dockerfile syntax.

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# The image's binary carries no debug info or symbol table (panic messages
# keep their file:line); local release builds keep line tables.
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols

# 1. Dependencies only: manifests and stub sources, so this layer is reused
#    until Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY domain/Cargo.toml domain/Cargo.toml
COPY application/Cargo.toml application/Cargo.toml
COPY adapters/Cargo.toml adapters/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
COPY bootstrap/Cargo.toml bootstrap/Cargo.toml
COPY tests/Cargo.toml tests/Cargo.toml
COPY tools/loadgen/Cargo.toml tools/loadgen/Cargo.toml
RUN for crate in domain application adapters migration bootstrap tests; do \
        mkdir -p $crate/src && echo "" > $crate/src/lib.rs; \
    done \
    && echo "fn main() {}" > bootstrap/src/main.rs \
    && mkdir -p tests/suite tests/benches && echo "" > tests/suite/main.rs \
    && echo "fn main() {}" > tests/benches/throughput.rs \
    && mkdir -p tools/loadgen/src && echo "fn main() {}" > tools/loadgen/src/main.rs \
    && cargo build --release --locked -p bootstrap \
    && rm -rf domain application adapters migration bootstrap tests tools

# 2. The sources.
COPY . .
RUN touch domain/src/lib.rs application/src/lib.rs adapters/src/lib.rs \
        migration/src/lib.rs bootstrap/src/lib.rs bootstrap/src/main.rs \
    && cargo build --release --locked -p bootstrap \
    && cp target/release/hookd /usr/local/bin/hookd

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/hookd --create-home hookd
COPY --from=build /usr/local/bin/hookd /usr/local/bin/hookd
USER hookd
WORKDIR /var/lib/hookd
ENV HOOKD__SERVER__BIND=0.0.0.0:8000
EXPOSE 8000
# `hookd healthcheck` GETs http://127.0.0.1:<server.bind port>/healthz: no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["hookd", "healthcheck"]
ENTRYPOINT ["hookd"]
CMD ["serve"]
