#!/usr/bin/env bash
# Builds the real control-plane binaries the local cluster runs (etcd, kube-apiserver,
# kube-controller-manager, kubectl), nats-server, helm (to render the chart in tests) and grpcurl (to call the
# runtime's gRPC API through reflection in tests), promtool (to check and unit-test the chart's alert
# rules) and alertmanager (the runtimes' machine alerts are delivered to a real one in tests) from the Go
# module proxy, once, into a cache outside the repository, and copies KEDA's ScaledObject CRD, the
# Gateway API's standard-channel GRPCRoute CRD and Argo CD's Application CRD out of their modules
# (tests install them).
# Reuses what is already there. See docs/adr/0002-local-cluster-without-docker.md.
#
# Env:
#   PROGNOS_ASSETS      directory with prebuilt binaries (like envtest's KUBEBUILDER_ASSETS); when it
#                       holds all of them nothing is built.
#   PROGNOS_CACHE_DIR   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/prognos)
#
# Output: the binaries' directory as the last line of stdout. On stderr, each step starts with a line
# "==> <step>", which `cli.ts up` shows as progress (binaries.ts); go's own output follows it.
set -euo pipefail

K8S_VERSION=1.36.3
ETCD_VERSION=3.6.8
NATS_VERSION=2.15.2
HELM_VERSION=3.22.0
GRPCURL_VERSION=1.9.4
KEDA_VERSION=2.21.0
GATEWAY_API_VERSION=1.4.1
ARGOCD_VERSION=3.2.0
# Prometheus v3.16's Go module version (its tags v3.x are published as v0.3x.0).
PROMETHEUS_VERSION=0.316.0
ALERTMANAGER_VERSION=0.35.0
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl nats-server helm grpcurl luacheck promtool alertmanager)
KEDA_CRD=keda.sh_scaledobjects.yaml
GRPCROUTE_CRD=gateway.networking.k8s.io_grpcroutes.yaml
ARGOCD_APPLICATION_CRD=argoproj.io_applications.yaml

cache_root=${PROGNOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/prognos}
out=${PROGNOS_ASSETS:-$cache_root/bin/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION-nats-v$NATS_VERSION}
mkdir -p "$out"

missing=()
for b in "${BINARIES[@]}"; do [ -x "$out/$b" ] || missing+=("$b"); done
[ -f "$out/$KEDA_CRD" ] || missing+=(keda-crd)
[ -f "$out/$GRPCROUTE_CRD" ] || missing+=(gateway-api-crd)
[ -f "$out/$ARGOCD_APPLICATION_CRD" ] || missing+=(argocd-application-crd)
if [ ${#missing[@]} -eq 0 ]; then
  echo "$out"
  exit 0
fi
if [ -n "${PROGNOS_ASSETS:-}" ]; then
  echo "PROGNOS_ASSETS=$PROGNOS_ASSETS lacks: ${missing[*]}; building them there" >&2
fi
command -v go >/dev/null || { echo "go is required to build ${missing[*]} (Go >= 1.26)" >&2; exit 1; }

work=$cache_root/build
mkdir -p "$work"
export GOFLAGS=-mod=mod CGO_ENABLED=0

want() { [[ " ${missing[*]} " == *" $1 "* ]]; }
step() { echo "==> $*" >&2; }

if want kube-apiserver || want kube-controller-manager || want kubectl; then
  mod=$work/kubernetes-$K8S_VERSION
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ]; then
    step "fetching the Kubernetes v$K8S_VERSION modules"
    ( cd "$mod"
      printf 'module prognos.dev/k8sbuild\n\ngo 1.26\n\nrequire k8s.io/kubernetes v%s\n' "$K8S_VERSION" > go.mod
      # k8s.io/kubernetes replaces its staging modules with local paths that are not in its module
      # zip; point each at the version published for this release instead.
      gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
      grep -E '^\s+k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}' | while read -r m; do
        go mod edit -replace "$m=$m@v0.${K8S_VERSION#1.}"
      done
      printf 'package main\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n\t_ "k8s.io/kubectl/pkg/cmd"\n)\n\nfunc main() {}\n' > tools.go
      go mod tidy >/dev/null )
  fi
  minor=${K8S_VERSION#1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for b in kube-apiserver kube-controller-manager kubectl; do
    want "$b" || continue
    step "building $b v$K8S_VERSION"
    ( cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$out/$b.tmp" "k8s.io/kubernetes/cmd/$b" ) && mv "$out/$b.tmp" "$out/$b"
  done
fi

if want etcd; then
  mod=$work/etcd-$ETCD_VERSION
  mkdir -p "$mod"
  ( cd "$mod"
    if [ ! -f go.sum ]; then
      step "fetching the etcd v$ETCD_VERSION modules"
      printf 'module prognos.dev/etcdbuild\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > go.mod
      for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do go mod edit -require "go.etcd.io/etcd/$m@v$ETCD_VERSION"; done
      printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
      go mod tidy >/dev/null
    fi
    step "building etcd v$ETCD_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" . && mv "$out/etcd.tmp" "$out/etcd" )
fi

if want nats-server; then
  step "building nats-server v$NATS_VERSION"
  GOBIN=$work/gobin go install -trimpath -ldflags "-s -w" "github.com/nats-io/nats-server/v2@v$NATS_VERSION"
  cp "$work/gobin/nats-server" "$out/nats-server"
fi

if want helm; then
  step "building helm v$HELM_VERSION"
  GOBIN=$work/gobin go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  cp "$work/gobin/helm" "$out/helm"
fi

if want grpcurl; then
  step "building grpcurl v$GRPCURL_VERSION"
  GOBIN=$work/gobin go install -trimpath -ldflags "-s -w -X main.version=v$GRPCURL_VERSION" "github.com/fullstorydev/grpcurl/cmd/grpcurl@v$GRPCURL_VERSION"
  cp "$work/gobin/grpcurl" "$out/grpcurl"
fi

if want luacheck; then
  # The Argo CD scripts' test runner (test/tools/luacheck: gopher-lua, pinned in its go.mod).
  step "building luacheck (gopher-lua)"
  ( cd "$(dirname "${BASH_SOURCE[0]}")/../tools/luacheck" && go build -trimpath -ldflags "-s -w" -o "$out/luacheck.tmp" . ) && mv "$out/luacheck.tmp" "$out/luacheck"
fi

if want promtool; then
  step "building promtool v$PROMETHEUS_VERSION"
  # remove_all_sd leaves out the service-discovery plugins (cloud SDKs, client-go), which checking and
  # testing rules never use: the cold build takes 2 min instead of 5 and a third of the memory.
  GOBIN=$work/gobin go install -tags remove_all_sd -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=v$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@v$PROMETHEUS_VERSION"
  cp "$work/gobin/promtool" "$out/promtool"
fi

if want alertmanager; then
  step "building alertmanager v$ALERTMANAGER_VERSION"
  # The web UI is embedded from ui/app/dist, which npm builds and the module zip leaves out (so
  # `go install …@v…` fails). Build from a copy of the module with a placeholder page there: the tests
  # use only the API.
  am=$(go mod download -json "github.com/prometheus/alertmanager@v$ALERTMANAGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  src=$work/alertmanager-$ALERTMANAGER_VERSION
  rm -rf "$src" && cp -r "$am" "$src" && chmod -R u+w "$src"
  for ui in elm mantine; do
    mkdir -p "$src/ui/app/dist/$ui"
    echo '<!doctype html><title>Alertmanager</title><p>UI not built (API only).' > "$src/ui/app/dist/$ui/index.html"
  done
  ( cd "$src" && go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=v$ALERTMANAGER_VERSION" \
      -o "$out/alertmanager.tmp" ./cmd/alertmanager ) && mv "$out/alertmanager.tmp" "$out/alertmanager"
fi

if want keda-crd; then
  step "fetching KEDA v$KEDA_VERSION's ScaledObject CRD"
  keda=$(go mod download -json "github.com/kedacore/keda/v2@v$KEDA_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  cp "$keda/config/crd/bases/$KEDA_CRD" "$out/$KEDA_CRD"
  chmod 0644 "$out/$KEDA_CRD"
fi

if want gateway-api-crd; then
  step "fetching Gateway API v$GATEWAY_API_VERSION's GRPCRoute CRD (standard channel)"
  gwapi=$(go mod download -json "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  cp "$gwapi/config/crd/standard/$GRPCROUTE_CRD" "$out/$GRPCROUTE_CRD"
  chmod 0644 "$out/$GRPCROUTE_CRD"
fi

if want argocd-application-crd; then
  step "fetching Argo CD v$ARGOCD_VERSION's Application CRD"
  argocd=$(go mod download -json "github.com/argoproj/argo-cd/v3@v$ARGOCD_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  cp "$argocd/manifests/crds/application-crd.yaml" "$out/$ARGOCD_APPLICATION_CRD"
  chmod 0644 "$out/$ARGOCD_APPLICATION_CRD"
fi

echo "$out"
