# syntax=docker/dockerfile:1
# One image for both programs; the program is the CMD (Node runs the .ts sources directly):
#   docker run IMAGE operator/main.ts --etcd ... --cluster-name ...
#   docker run IMAGE sidecar/main.ts  --etcd ... --listen 0.0.0.0:8080 --cluster-name ...
# Build: docker build -t switchboard:0.1.0 .   (docs/install.md)
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` with the lockfile rather than `npm ci` (npm/cli#9846); production dependencies only.
RUN npm install --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
# The programs run as uid/gid 10001 (the chart's runAsUser), never as root.
RUN groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin switchboard
ENV NODE_ENV=production \
    NODE_OPTIONS=--disable-warning=ExperimentalWarning
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Sources only: tests, fixtures and test kits are left out by .dockerignore. Root-owned and
# read-only for the runtime user, so the image also runs with a read-only root filesystem.
COPY package.json ./
COPY common ./common
COPY crds ./crds
COPY registry ./registry
COPY operator ./operator
COPY sidecar ./sidecar
USER 10001:10001
# Operator metrics 8080; gateway ingress 8080 and admin 9090 (set by flags).
EXPOSE 8080 9090
ENTRYPOINT ["node"]
CMD ["operator/main.ts"]
