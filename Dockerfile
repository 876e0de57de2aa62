# Switchboard add-on image. BUILD_FROM has a default so plain `docker build .` and the 2026 HA
# builder (which no longer injects it) work; the Supervisor's local build passes the one from build.yaml.
ARG BUILD_FROM=ghcr.io/home-assistant/base:3.23

# --- Stage 1: type-check and bundle with the full dependency set (dev tools stay in this stage).
FROM ${BUILD_FROM} AS build
RUN apk add --no-cache nodejs npm
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY web ./web
COPY card ./card
# Type-checks src/ and bundles it into dist/ (scripts/build-server.mjs), the web panel into web/dist/
# and the dashboard card into card/dist/.
RUN npm run build

# --- Stage 2: the runtime image: production dependencies and the bundled dist/ only. The bundle
# still reads from node_modules: koffi's native library, JSON data, socket.io's client files, and
# yaml, which src/ loads on demand. pino-pretty is a development dependency the image goes without
# (a terminal's log lines fall back to plain text).
FROM ${BUILD_FROM}
ARG BUILD_VERSION=0.1.0
ARG BUILD_ARCH=amd64
# ffmpeg encodes streams and recordings; v4l-utils (v4l2-ctl) helps users inspect cameras from a shell.
RUN apk add --no-cache nodejs npm ffmpeg v4l-utils
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# The panel is served from ../../../web/dist relative to dist/protocols/http (src/protocols/http/panel.ts).
COPY --from=build /src/web/dist ./web/dist
# The camera card the add-on copies into HA's www/ (src/app.ts CARD_BUNDLE: ../card/dist from dist/).
COPY --from=build /src/card/dist ./card/dist
COPY addon/rootfs /
# Non-root: s6-overlay's /init (PID 1) must start as root, but the service drops to this user in
# addon/rootfs/etc/services.d/switchboard/run. V4L2 access: the device nodes keep the host's group
# id, which differs between host systems, so the run script adds the group ids of the /dev/video*
# nodes it finds as supplementary groups instead of relying on a fixed "video" group in the image.
# s6 gives services 3 s after SIGTERM by default; the app needs up to 8 s (src/main.ts) and the
# Supervisor kills the container after 10 s, so give the service 9 s.
ENV S6_SERVICES_GRACETIME=9000
RUN addgroup -S switchboard && adduser -S -D -H -h /app -s /sbin/nologin -G switchboard switchboard
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:2000/api/health || exit 1
LABEL \
  io.hass.version="${BUILD_VERSION}" \
  io.hass.type="app" \
  io.hass.arch="${BUILD_ARCH}" \
  io.hass.name="Switchboard" \
  io.hass.description="Camera control server with four socket APIs, bridged into Home Assistant" \
  org.opencontainers.image.title="Switchboard" \
  org.opencontainers.image.version="${BUILD_VERSION}" \
  org.opencontainers.image.licenses="MIT"
