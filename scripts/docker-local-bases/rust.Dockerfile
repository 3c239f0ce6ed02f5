# STAND-IN for the official rust:<ver>-slim-bookworm image: the host's
# toolchain (copied into the build context by docker-local-bases.sh) and a C
# linker from Debian, and the host's CA bundle. Same layout and variables as the official image.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
# The host's CA bundle, added to the image's own (see docker-local-bases.sh).
COPY host-trust.crt /usr/local/share/ca-certificates/host-trust.crt
RUN update-ca-certificates >/dev/null
COPY toolchain /usr/local/rustup/toolchain
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rustup/toolchain/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && rustc --version && cargo --version
