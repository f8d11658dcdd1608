#!/usr/bin/env bash
# Builds the real control-plane binaries from source through the Go module proxy (no prebuilt binary
# can be downloaded here), as envtest would provide them: etcd, kube-apiserver,
# kube-controller-manager, plus helm. Cached outside the work tree, keyed by version; a second run
# finds them and returns at once. KUBEBUILDER_ASSETS pointing at binaries already on the machine
# (envtest's convention) skips the build of those.
#
# Prints the directory that holds the binaries on its last line of stdout.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
CACHE=${FERRY_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry/k8s}
OUT="$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"
mkdir -p "$OUT"

log() { echo "[controlplane build $(date +%H:%M:%S)] $*" >&2; }
have() { [ -x "$OUT/$1" ] || { [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$1" ] && ln -sf "$KUBEBUILDER_ASSETS/$1" "$OUT/$1"; }; }

# The oldest Go that builds all three (the `go` line of their go.mod files); GOTOOLCHAIN=local, so
# no other toolchain is downloaded.
GO_MIN=1.26.0

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

way_out() {
  cat >&2 <<EOT
Two ways out:
  - install Go $GO_MIN or newer (https://go.dev/dl/), put it on the PATH and run again
    (npm run cluster:build; the first build takes about 8 minutes, then it is cached in $OUT);
  - or, on a machine with Docker: hack/kind-up.sh runs ferry in a kind cluster instead
    (hack/kind-up.sh --tests prepares one for the control-plane tests, see README).
The unit and db test tiers need no Go: npx vitest run --project unit --project db
EOT
  exit 1
}

# Checked before the first build only: with every binary present, Go is not needed.
need_go() {
  [ -n "${go_checked:-}" ] && return
  go_checked=1
  if ! command -v go >/dev/null; then
    log "Go is not installed: the control plane (etcd, kube-apiserver, kube-controller-manager, helm) is built from source the first time, which needs Go $GO_MIN or newer."
    way_out
  fi
  local have
  have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  if [ "$(printf '%s\n%s\n' "$GO_MIN" "$have" | sort -V | head -1)" != "$GO_MIN" ]; then
    log "Go $have is too old: building the control plane needs Go $GO_MIN or newer ($(command -v go))."
    way_out
  fi
}

# Runs a step with its output kept aside; on failure it is shown with the step, instead of lost.
quiet() {
  if ! "$@" >"$work/step.log" 2>&1; then
    log "failed: $*"
    tail -n 40 "$work/step.log" >&2
    exit 1
  fi
}

build_etcd() {
  have etcd && return
  need_go
  local t0=$SECONDS
  log "etcd $ETCD_VERSION: fetching modules and building (first time only)"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  quiet go mod init ferry.local/etcd-build
  quiet go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT/etcd.tmp" "$OUT/etcd"
  log "etcd built in $((SECONDS - t0)) s"
}

build_kube() {
  have kube-apiserver && have kube-controller-manager && return
  need_go
  local t0=$SECONDS
  local minor=${K8S_VERSION#v1.}
  local staging="v0.${minor}"
  log "kubernetes $K8S_VERSION: fetching modules (1-2 GB the first time)"
  mkdir -p "$work/kube" && cd "$work/kube"
  quiet go mod init ferry.local/kube-build
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  # kubernetes' own go.mod replaces its staging modules with local paths, which a dependent module
  # cannot see; point each at its published version instead.
  sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*#\1#p' "$gomod" | sort -u | while read -r m; do
    go mod edit -replace "$m=$m@$staging"
  done
  go mod edit -require "k8s.io/kubernetes@$K8S_VERSION"
  printf 'package tools\nimport (\n _ "k8s.io/kubernetes/cmd/kube-apiserver"\n _ "k8s.io/kubernetes/cmd/kube-controller-manager"\n)\n' >tools.go
  quiet go mod tidy
  log "kubernetes modules ready after $((SECONDS - t0)) s; compiling kube-apiserver and kube-controller-manager"
  local pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version
  local major=1 min=${minor%%.*} date
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local ldflags="-s -w"
  for p in $pkg $cpkg; do
    ldflags="$ldflags -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$min -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  for cmd in kube-apiserver kube-controller-manager; do
    local t1=$SECONDS
    go build -trimpath -ldflags "$ldflags" -o "$OUT/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
    mv "$OUT/$cmd.tmp" "$OUT/$cmd"
    log "$cmd built in $((SECONDS - t1)) s"
  done
  log "kubernetes done in $((SECONDS - t0)) s"
}

build_helm() {
  have helm && return
  need_go
  local t0=$SECONDS
  log "helm $HELM_VERSION: fetching modules and building"
  mkdir -p "$work/helm" && cd "$work/helm"
  quiet go mod init ferry.local/helm-build
  quiet go get "helm.sh/helm/v3@$HELM_VERSION"
  go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" -o "$OUT/helm.tmp" helm.sh/helm/v3/cmd/helm
  mv "$OUT/helm.tmp" "$OUT/helm"
  log "helm built in $((SECONDS - t0)) s"
}

build_etcd
build_kube
build_helm
log "binaries ready in $OUT"
echo "$OUT"
