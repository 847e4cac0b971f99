#!/usr/bin/env bash
# End-to-end check on a kind cluster, for users and for CI with Docker: builds the Prognos image,
# loads it into kind, installs NATS (JetStream) and the chart, applies a fleet and a model, and waits
# until the operator has created the fleet's streams and the model's runtime pod is ready and scoring.
# UNTESTED HERE: the machines this project is developed on have no container engine; the same path
# runs on the embedded cluster in test/integration (helm.lifecycle, operator.identity, e2e).
# Needs: docker, kind, kubectl, helm, and network access to the NATS Helm repository.
# Usage: test/e2e/kind/run.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/../../.."
cluster=prognos-e2e
image=prognos/prognos:e2e
keep=${1:-}

cleanup() { [ "$keep" = --keep ] || kind delete cluster --name "$cluster"; }
trap cleanup EXIT

docker build -t "$image" .
kind create cluster --name "$cluster" --wait 120s
kind load docker-image "$image" --name "$cluster"

helm repo add nats https://nats-io.github.io/k8s/helm/charts >/dev/null
helm install nats nats/nats -n nats --create-namespace --set config.jetstream.enabled=true --wait

# The CRDs the way upgrades apply them (Helm never upgrades crds/), then the chart without them.
kubectl apply --server-side -k config/crd
helm install prognos charts/prognos -n prognos-system --create-namespace --skip-crds \
  --set image.repository=prognos/prognos --set image.tag=e2e --set image.pullPolicy=Never --wait

kubectl create namespace e2e
kubectl apply -n e2e --server-side -f - <<'YAML'
apiVersion: prognos.dev/v1alpha1
kind: SensorFleet
metadata: { name: pumps }
spec:
  nats: { url: nats://nats.nats.svc:4222 }
  subject: e2e.pumps.*.readings
  machineId: { subjectToken: 3 }
  stream: { maxAge: 1h, partitions: 2 }
  schema:
    timestampField: ts
    timestampFormat: UnixMillis
    features:
      - { name: vibration, min: 0, max: 50 }
  deletionPolicy: Delete
---
# No artifact the cluster can reach: the fallback rules score every reading (phase Degraded), which
# exercises the operator, the consumers and the runtime without publishing a model anywhere.
apiVersion: prognos.dev/v1alpha1
kind: MaintenanceModel
metadata: { name: pumps-vibration }
spec:
  fleetRef: { name: pumps }
  task: classification
  model:
    version: v1
    uri: file:///models/absent.onnx
    sha256: "0000000000000000000000000000000000000000000000000000000000000000"
    inputs: [vibration]
  thresholds: { warning: 0.5, critical: 0.8 }
  fallback:
    rules:
      - { feature: vibration, above: 7.1, severity: warning }
      - { feature: vibration, above: 11, severity: critical }
YAML

kubectl wait -n e2e --for=condition=StreamReady sensorfleet/pumps --timeout=120s
kubectl wait -n e2e --for=condition=Available maintenancemodel/pumps-vibration --timeout=300s
# A reading in, a prediction out, through the cluster's NATS (the image carries the nats.js client).
kubectl run -n e2e check --rm -i --restart=Never --image="$image" --image-pull-policy=Never \
  --command -- node --input-type=module -e '
    import { connect } from "@nats-io/transport-node";
    const nc = await connect({ servers: "nats://nats.nats.svc:4222" });
    const sub = nc.subscribe("prognos.predictions.e2e.pumps-vibration.>", { max: 1, timeout: 60000 });
    const timer = setInterval(() => nc.publish("e2e.pumps.p1.readings", JSON.stringify({ ts: Date.now(), vibration: 12 })), 1000);
    for await (const m of sub) { console.log("prediction:", m.string()); break; }
    clearInterval(timer); await nc.close();'
kubectl get sf,mm -n e2e
echo "e2e passed"
