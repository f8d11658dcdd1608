#!/usr/bin/env bash
# For machines with Docker only (it cannot run where no Docker engine runs, as on ferry's CI): a kind
# cluster with ferry built into an image, loaded into the cluster and installed with the Helm chart,
# as on a real cluster. `kind-up.sh --tests` prepares a cluster for the control-plane test tier instead
# (CRDs only: the tests start their own operator; no pod runner, kind has real kubelets).
set -euo pipefail
name=${KIND_CLUSTER_NAME:-ferry}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "kind needs a running Docker engine" >&2; exit 1; }
if ! command -v kind >/dev/null; then
  command -v go >/dev/null || { echo "kind not found: install it (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)" >&2; exit 1; }
  go install sigs.k8s.io/kind@v0.31.0
  PATH=$PATH:$(go env GOPATH)/bin
fi
command -v helm >/dev/null || { echo "helm not found: install it (https://helm.sh/docs/intro/install/), or with Go, npm run cluster:build builds one into ~/.cache/ferry/k8s" >&2; exit 1; }
kind get clusters | grep -qx "$name" || kind create cluster --name "$name" --wait 120s
kubeconfig=$(mktemp)
kind get kubeconfig --name "$name" >"$kubeconfig"
if [ "${1:-}" = --tests ]; then
  kubectl --kubeconfig "$kubeconfig" apply --server-side -f "$root/crds"
  echo "FERRY_TEST_KUBECONFIG=$kubeconfig npx vitest run --project controlplane"
  exit 0
fi
docker build -t ferry:dev "$root"
kind load docker-image ferry:dev --name "$name"
helm --kubeconfig "$kubeconfig" upgrade --install ferry "$root/charts/ferry" -n ferry-system --create-namespace \
  --set image.repository=ferry --set image.tag=dev --set image.pullPolicy=Never --wait
echo "export KUBECONFIG=$kubeconfig"
echo "then: kubectl apply -f examples/cluster/standard.yaml (point its hosts at databases the cluster reaches)"
