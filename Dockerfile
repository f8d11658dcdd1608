# One image for the operator (`ferry operator`, the Helm chart's Deployment) and the transfer Pods
# (`ferry transfer ...`). The TypeScript sources run directly on Node 24 (type stripping), only
# production dependencies beside them; each entry point also as one bundled file (hack/bundle.mjs),
# which bin/ferry prefers: a transfer Pod or the operator starts without resolving hundreds of modules.
#
# The base is pinned to an exact Node release and to the digest of that tag's multi-platform index
# (linux/amd64, arm64, ppc64le), as Docker's official-images record lists it (docker-library/repo-info,
# repos/node/remote/24.21.0-bookworm-slim.md, the build of 2026-09-19). The tag is rebuilt when Debian
# ships fixes; to move on, take the new digest from that record or from
# `docker buildx imagetools inspect node:<version>-bookworm-slim` and change tag and digest together.
# No Docker engine runs on ferry's CI: hack/dockerfile.build.test.ts checks this file statically and
# runs its steps without Docker.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no production dependency needs one, and none gets to run code at build time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS bundle
WORKDIR /app
COPY package.json package-lock.json ./
# Every dependency, esbuild among them (its binary comes in its platform package: no scripts needed).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY hack/bundle.mjs ./hack/
COPY engine ./engine
COPY operator ./operator
RUN node hack/bundle.mjs

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="ferry" \
      org.opencontainers.image.description="DMO-style database migrations as Kubernetes custom resources" \
      org.opencontainers.image.source="https://github.com/ferry-dev/ferry" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY engine ./engine
COPY operator ./operator
# After the sources: bin/ferry runs the bundle only while no source is newer.
COPY --from=bundle /app/dist ./dist
# The uid/gid the transfer Pods and the chart run as; nothing in the image is writable by it.
USER 65532:65532
ENTRYPOINT ["ferry"]
CMD ["--help"]
