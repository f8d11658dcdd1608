#!/usr/bin/env bash
# For machines with Docker only (it cannot run where no Docker engine runs, as on ferry's CI): a kind
# cluster with ferry's CRDs, and the control-plane test tier pointed at it. No pod runner is needed
# there: kind has real kubelets, and the transfer Pods run the ferry image (build and load it first:
# `docker build -t ferry:dev . && kind load docker-image ferry:dev --name ferry`).
set -euo pipefail
name=${KIND_CLUSTER_NAME:-ferry}
command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "kind needs a running Docker engine" >&2; exit 1; }
command -v kind >/dev/null || go install sigs.k8s.io/kind@v0.31.0
kind get clusters | grep -qx "$name" || kind create cluster --name "$name" --wait 120s
kubeconfig=$(mktemp)
kind get kubeconfig --name "$name" >"$kubeconfig"
kubectl --kubeconfig "$kubeconfig" apply --server-side -f "$(dirname "$0")/../crds"
echo "export KUBECONFIG=$kubeconfig"
echo "run the control-plane tier there with: FERRY_TEST_KUBECONFIG=$kubeconfig npx vitest run --project controlplane"
