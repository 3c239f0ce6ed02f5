#!/usr/bin/env bash
# Builds LOCAL STAND-INS for the base images that the Dockerfile and
# docker-compose.yml name, for machines that cannot pull from a public image
# registry. They are built only from Debian's packages and the Rust toolchain
# already installed on this machine:
#   debian:bookworm-slim        debootstrap --variant=minbase bookworm
#   rust:<ver>-slim-bookworm    that + the host's rustup toolchain + gcc/libc6-dev
#                               + the host's CA bundle (for cargo's downloads)
#   postgres:16                 that + Debian's PostgreSQL (bookworm ships 15!)
# They are NOT the official images: the postgres stand-in runs PostgreSQL 15
# under the tag postgres:16. The project files keep naming the real images,
# which users pull as usual. Images that already exist are left alone
# (FORCE=1 rebuilds them).
set -euo pipefail
cd "$(dirname "$0")/.."

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
RUST_VERSION="${RUST_VERSION:-$(sed -n 's/^ARG RUST_VERSION=//p' Dockerfile)}"
RUST_IMAGE="rust:${RUST_VERSION}-slim-bookworm"
POSTGRES_IMAGE="$(sed -n 's/^ *image: *\(postgres:.*\)$/\1/p' docker-compose.yml)"
HERE="scripts/docker-local-bases"
STAND_IN_LABEL="hookd.stand-in=true"

say() { printf '[docker-local-bases] %s\n' "$*"; }
need_image() { [[ "${FORCE:-0}" == 1 ]] || ! docker image inspect "$1" >/dev/null 2>&1; }

command -v docker >/dev/null || { echo "docker is not installed" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "the Docker engine is not running" >&2; exit 1; }
work="$(mktemp -d /var/tmp/hookd-bases.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# --- debian:bookworm-slim ------------------------------------------------------
if need_image debian:bookworm-slim; then
  command -v debootstrap >/dev/null || { echo "apt-get install debootstrap first" >&2; exit 1; }
  say "building STAND-IN debian:bookworm-slim with debootstrap from $MIRROR"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  cat >"$work/rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
SOURCES
  # Slim, like the official image: apt keeps no caches, downloaded packages or
  # translations, and dpkg installs no docs, man pages or locales (the same
  # settings the official image ships in apt.conf.d and dpkg.cfg.d).
  cat >"$work/rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT
  cat >"$work/rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
  rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin \
    "$work"/rootfs/var/cache/apt/archives/*.deb \
    "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/info/* "$work"/rootfs/usr/share/locale/*
  find "$work/rootfs/usr/share/doc" -type f ! -name copyright -delete
  tar -C "$work/rootfs" -c . | docker import \
    --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL $STAND_IN_LABEL" - debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
else
  say "debian:bookworm-slim exists; kept"
fi

# --- rust:<ver>-slim-bookworm ----------------------------------------------------
if need_image "$RUST_IMAGE"; then
  # The first installed toolchain whose rustc is $RUST_VERSION (1.95 matches 1.95.x).
  rustc_path=""
  for name in $(rustup toolchain list | cut -d' ' -f1); do
    candidate="$(rustup which --toolchain "$name" rustc)"
    if "$candidate" --version | grep -q "^rustc ${RUST_VERSION//./\\.}[. ]"; then
      rustc_path="$candidate"
      break
    fi
  done
  [[ -n "$rustc_path" ]] || { echo "no Rust $RUST_VERSION toolchain on this machine (rustup toolchain list)" >&2; exit 1; }
  toolchain="$(cd "$(dirname "$rustc_path")/.." && pwd -P)"
  say "building STAND-IN $RUST_IMAGE from the host toolchain $("$rustc_path" --version)"
  mkdir -p "$work/rust/toolchain"
  # The compiler and the std library; not the 800 MB of documentation.
  cp -a "$toolchain/bin" "$toolchain/lib" "$toolchain/libexec" "$work/rust/toolchain/"
  # Cargo in the image trusts what this machine trusts, so that it reaches
  # crates.io the way the host's cargo does (whatever TLS setup is in between).
  cp /etc/ssl/certs/ca-certificates.crt "$work/rust/host-trust.crt"
  cp "$HERE/rust.Dockerfile" "$work/rust/Dockerfile"
  docker build -t "$RUST_IMAGE" --label "$STAND_IN_LABEL" "$work/rust" >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log" >&2; exit 1; }
  rm -rf "$work/rust"
else
  say "$RUST_IMAGE exists; kept"
fi

# --- postgres:16 -------------------------------------------------------------------
if need_image "$POSTGRES_IMAGE"; then
  say "building STAND-IN $POSTGRES_IMAGE: Debian bookworm's PostgreSQL 15, not the official image"
  docker build -t "$POSTGRES_IMAGE" --label "$STAND_IN_LABEL" -f "$HERE/postgres.Dockerfile" "$HERE" \
    >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
else
  say "$POSTGRES_IMAGE exists; kept"
fi

for image in debian:bookworm-slim "$RUST_IMAGE" "$POSTGRES_IMAGE"; do
  stand_in="$(docker image inspect -f '{{index .Config.Labels "hookd.stand-in"}}' "$image")"
  size="$(docker image inspect -f '{{.Size}}' "$image")"
  say "$(printf '%-28s %4d MB  %s' "$image" $((size / 1000000)) "${stand_in:+STAND-IN (local build, not the official image)}")"
done
