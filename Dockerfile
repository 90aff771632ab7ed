# syntax=docker/dockerfile:1
#
# The `sesame` binary in a small runtime image, running as an unprivileged user.
#
#   docker build -t sesame .
#   docker run --rm -p 8080:8080 \
#       -e SESAME_PUBLIC_URL=https://sso.example \
#       -e SESAME_DATABASE_URL=postgres://sesame:password@db.internal:5432/sesame \
#       -e SESAME_KEY_ENCRYPTION_KEY="$(cat kek.b64)" \
#       sesame
#
# The image runs `sesame start` (production mode): it needs at least SESAME_PUBLIC_URL,
# SESAME_DATABASE_URL and SESAME_KEY_ENCRYPTION_KEY; docs/configuration.md lists every setting.
# Mount a volume on /var/lib/sesame: client secrets generated when a realm file is first
# imported are written there, and so is mail when SESAME_SMTP_URL is not set.

# --- Build -----------------------------------------------------------------------------------
# The default build needs no system library: SQLite, libpq and aws-lc are compiled from source
# by their crates, with the C compiler this image already has. libpq is built without OpenSSL,
# so connections to PostgreSQL are not encrypted (docs/configuration.md).
FROM rust:1-bookworm AS build
WORKDIR /src

# Only what the build reads: the workspace, the embedded migrations and the embedded themes.
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY migrations migrations
COPY themes themes

# The cache mounts keep downloaded crates and compiled dependencies between builds; the binary
# is copied out of the target directory because a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sesame-server -p sesame-demo-portal \
    && install -D -m 0755 target/release/sesame /out/sesame \
    && install -D -m 0755 target/release/demo-portal /out/demo-portal

# --- The demo Smart OA portal (docker build --target demo-portal) -------------------------------
# A relying party of Sésame configured by PORTAL_* variables (crates/demo-portal/src/config.rs);
# docker-compose.yml shows them. Same base and user as Sésame's image, which comes last so that
# a plain `docker build` gives Sésame.
FROM debian:bookworm-slim AS demo-portal
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 sesame \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin sesame
COPY --from=build /out/demo-portal /usr/local/bin/demo-portal
ENV PORTAL_LISTEN=0.0.0.0:8081
USER 10001:10001
EXPOSE 8081
ENTRYPOINT ["demo-portal"]

# --- Runtime ---------------------------------------------------------------------------------
FROM debian:bookworm-slim AS sesame

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid and gid, so that volumes and orchestrators' security policies can name them.
RUN groupadd --system --gid 10001 sesame \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /var/lib/sesame --shell /usr/sbin/nologin sesame \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/sesame

COPY --from=build /out/sesame /usr/local/bin/sesame
COPY config/realms /etc/sesame/realms

# Listening on every interface makes SESAME_PUBLIC_URL mandatory: Sésame refuses to start
# without it rather than guess the URL clients use.
ENV SESAME_REALMS_DIR=/etc/sesame/realms \
    SESAME_DATA_DIR=/var/lib/sesame \
    SESAME_HTTP_HOST=0.0.0.0

USER 10001:10001
WORKDIR /var/lib/sesame
EXPOSE 8080

# The image has no curl or wget: bash (part of every Debian image) sends the request through
# its /dev/tcp redirection instead, which costs no extra package. Plain HTTP on the loopback
# interface only: with SESAME_TLS_CERT set, or SESAME_HTTP_HOST bound to one other address,
# replace this check.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SESAME_HTTP_PORT:-8080} && printf 'GET /health/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["sesame"]
CMD ["start"]
