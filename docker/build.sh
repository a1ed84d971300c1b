#!/bin/sh
# Build the fakepypi image from locally built static binaries, FROM scratch,
# so nothing is pulled from a registry.
#
#   docker/build.sh [TAG]      TAG defaults to $FAKEPYPI_IMAGE, else fakepypi:dev
#
# Leaves the host binaries in docker/bin/ (fakeindex, fakeissuer), which
# docker/ci-test.sh also uses on the host.
set -eu
cd "$(dirname "$0")/.."
tag=${1:-${FAKEPYPI_IMAGE:-fakepypi:dev}}

rm -rf docker/bin
mkdir -p docker/bin/rootfs/ca docker/bin/rootfs/data docker/bin/rootfs/tmp
chmod 1777 docker/bin/rootfs/tmp
# Static (no libc in scratch), reproducible paths, no symbol tables:
# smaller image, same behaviour.
# Progress on stderr (stdout is the tag alone): a first build compiles
# everything, which takes a minute or more on a small machine.
for cmd in fakeindex fakeissuer; do
  echo "docker/build.sh: go build ./cmd/$cmd (static)" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "docker/bin/$cmd" "./cmd/$cmd"
done
echo "docker/build.sh: docker build -t $tag (FROM scratch, nothing pulled)" >&2
# Classic builder on purpose: Debian's docker.io ships no buildx plugin
# (newer clients otherwise error or fall back noisily), and a two-COPY
# FROM-scratch build needs nothing from BuildKit.
DOCKER_BUILDKIT=0 docker build -q -t "$tag" -f docker/Dockerfile docker >/dev/null
echo "$tag"
