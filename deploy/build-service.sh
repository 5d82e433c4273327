#!/bin/sh
# Builds one service as the container image does: a static binary from the
# service's own module (GOWORK=off: the image's context holds pkg/ and
# services/ only, and each service's go.mod points at ../../pkg).
# Usage: deploy/build-service.sh <service> <output>. CI runs this same script
# in a copy of the image's build context to prove the Dockerfile's build works.
set -eu
service=${1:?usage: build-service.sh <service> <output>}
out=${2:?usage: build-service.sh <service> <output>}
test -f "services/$service/go.mod" || { echo "no service named $service (services/$service/go.mod)" >&2; exit 1; }
cd "services/$service"
GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$out" .
