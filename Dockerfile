# syntax=docker/dockerfile:1
# One image for every Prognos process: the operator, the inference runtime and the trainer.
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

# The trainer's Python: the same hash-pinned requirements scripts/python-trainer installs locally
# (docs/adr/0011-trainer-lightgbm-onnxmltools.md). Debian bookworm's python3 is CPython 3.11, which
# the pinned wheels are built for.
FROM node:24-bookworm-slim AS trainer-python
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY runtimes/trainer/requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/prognos-trainer \
 && /opt/prognos-trainer/bin/pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: \
      -r /tmp/requirements.txt

FROM node:24-bookworm-slim
WORKDIR /app
# python3 for the trainer's venv; libgomp1 is LightGBM's OpenMP runtime.
RUN apt-get update && apt-get install -y --no-install-recommends python3 libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=trainer-python /opt/prognos-trainer /opt/prognos-trainer
ENV PROGNOS_TRAINER_PYTHON=/opt/prognos-trainer/bin/python
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
 && printf '#!/bin/sh\nexec node /app/runtimes/trainer/main.ts "$@"\n' > /usr/local/bin/prognos-trainer \
 && chmod 0755 /usr/local/bin/prognos-*
# Numeric non-root user so Kubernetes can verify runAsNonRoot; the root filesystem can be read-only.
USER 1000:1000
ENTRYPOINT ["prognos-operator"]
