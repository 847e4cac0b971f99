# syntax=docker/dockerfile:1
# One image for every Prognos process: the operator, the inference runtime and (later) the trainer.
# Node 24 runs the TypeScript sources directly (type stripping), so the "build" is a type check gate
# plus a production-only dependency install. See docs/adr/0001-project-layout-and-toolchain.md.

FROM node:24-bookworm-slim AS check
WORKDIR /src
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY contracts ./contracts
COPY operator ./operator
COPY runtimes ./runtimes
COPY proto ./proto
# Type check gate (test/ and bench/ are not copied; tsconfig's include tolerates their absence).
RUN node_modules/.bin/tsc -p tsconfig.json --noEmit

FROM node:24-bookworm-slim AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=check /src/contracts ./contracts
COPY --from=check /src/operator ./operator
COPY --from=check /src/runtimes ./runtimes
COPY --from=check /src/proto ./proto
RUN find operator runtimes -name '*.test.ts' -delete \
 && printf '#!/bin/sh\nexec node /app/operator/main.ts "$@"\n' > /usr/local/bin/prognos-operator \
 && printf '#!/bin/sh\nexec node /app/runtimes/inference/main.ts "$@"\n' > /usr/local/bin/prognos-inference \
 && chmod 0755 /usr/local/bin/prognos-*
# Numeric non-root user so Kubernetes can verify runAsNonRoot; the root filesystem can be read-only.
USER 1000:1000
ENTRYPOINT ["prognos-operator"]
