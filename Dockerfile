# syntax=docker/dockerfile:1
# The hub's image. Targets:
#   hub (default)  the hub on Node.js 24: `docker build -t omnichannel-hub .`
#   whatsapp-web   the same plus Debian's Chromium, for the WhatsApp Web channel only:
#                  `docker build --target whatsapp-web -t omnichannel-hub:whatsapp-web .`
# The hub runs its TypeScript through tsx (a production dependency): no build step, so the runtime
# stage is the dependency install plus the sources, and the console's static bundle built beside it. test/deploy/dockerfile.test.ts checks this file.

# Keep in step with scripts/node24.sh (the Node that CI tests on).
ARG NODE_VERSION=24.22.3

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
# Exactly the lockfile, production dependencies only. Dependency install scripts are all denied
# (package.json allowScripts: puppeteer would download Chrome; esbuild and msgpackr-extract load their
# prebuilt platform packages without them); --ignore-scripts says the same to an npm that predates
# allowScripts, whichever npm this Node image bundles.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# The operator console's bundle (Preact + Vite, console/ → console/dist): built here with the dev
# dependencies, of which only the static files go on to the image.
FROM node:${NODE_VERSION}-bookworm-slim AS console
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY console ./console
COPY scripts/build-console.mjs ./scripts/build-console.mjs
RUN node scripts/build-console.mjs --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# tini as PID 1: forwards SIGTERM to node (graceful drain) and reaps Chromium's children.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# A 4 MB young generation (V8's default grows to 16 MB and more per semi-space and stays there):
# about 100 MB less resident memory at idle, measured; raise it for a busy worker if GC shows up.
# MALLOC_TRIM_THRESHOLD_: glibc gives freed memory back to the system past 128 KB instead of keeping
# it (setting it also fixes the mmap threshold at 128 KB): opening the embedded database peaks at
# about 600 MB of short-lived allocations, and without it about 90 MB of that stays resident.
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=3000 \
  NODE_OPTIONS=--max-semi-space-size=4 \
  MALLOC_TRIM_THRESHOLD_=131072
# Sources and data read at run time, owned by root: the hub's user can read but not change them, and
# the root filesystem can be mounted read-only. The hub writes only to /app/.hub-data (a volume: the
# embedded database, `hub kb ingest`'s store, the start-up cache, the WhatsApp Web session) and /tmp (tsx's compile cache).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY app ./app
COPY core ./core
COPY connectors ./connectors
COPY adapters ./adapters
COPY config ./config
COPY knowledge ./knowledge
COPY --from=console /app/console/dist ./console/dist
RUN mkdir -p /app/.hub-data && chown node:node /app/.hub-data
VOLUME ["/app/.hub-data"]
# The node user (uid 1000) of the official image, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
# Liveness only (the process answers); readiness with its dependencies is /readyz. A worker-only
# process (--role worker) answers on HUB_WORKER_PORT when that is set (app/worker-ops.ts).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HUB_WORKER_PORT || process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/hub.mjs"]
# Embedded defaults (in-memory bus, PGlite under /app/.hub-data): `docker run -p 3000:3000 omnichannel-hub`.
# Production passes `start --config config/hub.production.yaml --role api|worker` (docker-compose.yml).
CMD ["start"]

FROM runtime AS whatsapp-web
USER root
# Debian's Chromium, driven by whatsapp-web.js through the channel's executablePath (default
# /usr/bin/chromium); the fonts render Chinese in what WhatsApp Web shows.
RUN apt-get update \
  && apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
  && rm -rf /var/lib/apt/lists/*
# Chromium's profile and caches go to /tmp, so the root filesystem can stay read-only.
ENV XDG_CONFIG_HOME=/tmp/.config \
  XDG_CACHE_HOME=/tmp/.cache
USER 1000:1000

# Last, so a plain `docker build` produces the image without Chromium.
FROM runtime AS hub
