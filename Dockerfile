# syntax=docker/dockerfile:1
# One image for both programs, compiled to JavaScript with source maps; the program is the CMD:
#   docker run IMAGE dist/operator/main.js --etcd ... --cluster-name ...
#   docker run IMAGE dist/sidecar/main.js  --etcd ... --listen 0.0.0.0:8080 --cluster-name ...
# Build: docker build -t switchboard:0.1.0 .   Without Docker: npm run image (docs/install.md).
# helm/dockerfile.test.ts holds this file to what `npm run image` builds (scripts/image/spec.ts):
# the same /app files, user, entry point, environment and ports.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm install --no-audit --no-fund
COPY common ./common
COPY crds ./crds
COPY registry ./registry
COPY operator ./operator
COPY sidecar ./sidecar
# `npm run build`: dist/operator/main.js, dist/sidecar/main.js and the modules they import.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json
# The gateway's Node-API module (common/malloc-trim.ts), built for this base image's glibc with
# the headers of its Node, as scripts/image/compile.ts builds it for npm run image.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && mkdir -p dist/common/native \
 && cc -O2 -Wall -Werror -shared -fPIC -I/usr/local/include/node -o dist/common/native/malloc-trim.node common/native/malloc-trim.c

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` with the lockfile rather than `npm ci` (npm/cli#9846); production dependencies
# only (typescript, an optional peer of valibot, is optional: scripts/image/deps.ts), without what
# nothing loads at run time (type declarations, sources, maps, docs, .bin).
RUN npm install --omit=dev --omit=optional --no-audit --no-fund \
 && find node_modules -depth -type d -name .bin -exec rm -rf {} + \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -delete \
 && npm cache clean --force

FROM ${NODE_IMAGE}
# The programs run as uid/gid 10001 (the chart's runAsUser), never as root.
RUN groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /sbin/nologin switchboard
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
# Root-owned and read-only for the runtime user, so the image also runs with a read-only root
# file system. No sources, tests or test kits: only the compiled programs.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
USER 10001:10001
# Operator metrics 8080; gateway ingress 8080 and admin 9090 (set by flags).
EXPOSE 8080 9090
ENTRYPOINT ["node", "--enable-source-maps", "--max-old-space-size-percentage=50", "--max-semi-space-size=4"]
CMD ["dist/operator/main.js"]
