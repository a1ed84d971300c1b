#!/usr/bin/env bash
# Container tests on a real Docker engine (issue 7), called by .ci/run:
#
#   1. build the image from local static binaries (docker/build.sh; no pulls)
#   2. bring compose.yaml up and wait for the three health checks
#   3. from the host, with Debian's twine: trusted-publishing exchange
#      through the proxy, upload demo 1.0 to https://upload.pypi.org/legacy/,
#      then pip install demo==1.0 from https://pypi.org/simple/ (files from
#      https://files.pythonhosted.org/packages/) through the proxy
#   4. inside the compose network: https://pypi.org/simple/demo/ through the
#      network aliases, trusting the CA from the shared volume
#   5. compose down; the testcontainers-go module's tests
#
# Without a reachable Docker engine it prints why and exits 0 (skip), except
# under CI=true, where a skip would hide a broken CI machine: exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

skip() {
  if [ "${CI:-}" = true ]; then
    echo "docker/ci-test.sh: FAIL: $* (CI=true: container tests must run here)" >&2
    exit 1
  fi
  echo "docker/ci-test.sh: SKIP: $*" >&2
  exit 0
}
command -v docker >/dev/null || skip "no docker CLI on PATH"
if ! out=$(docker info --format '{{.ServerVersion}}' 2>&1); then
  skip "no Docker engine reachable: $out"
fi
echo "Docker engine $out"
# Compose v2 (plugin) has --wait; Debian 12's docker-compose 1.29 does not.
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  skip "neither 'docker compose' nor 'docker-compose' is installed"
fi
"${compose[@]}" version | sed -n 1p  # sed, not head: no SIGPIPE under pipefail

export FAKEPYPI_IMAGE=${FAKEPYPI_IMAGE:-fakepypi:ci}
t0=$(date +%s.%N)
docker/build.sh "$FAKEPYPI_IMAGE" >/dev/null
echo "image $FAKEPYPI_IMAGE built in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}")s:" \
  "$(docker image inspect -f '{{.Size}}' "$FAKEPYPI_IMAGE" | awk '{printf "%.1f MB", $1/1e6}')"

# A project of our own and free host ports (empty FAKEPYPI_*_PORT: Docker
# picks), so a developer's running compose or a test on 8080 is untouched.
project=fakepypi-ci-$$
export FAKEPYPI_INDEX_PORT= FAKEPYPI_ISSUER_PORT= FAKEPYPI_PROXY_PORT=
dc() { "${compose[@]}" -p "$project" -f compose.yaml "$@"; }
work=$(mktemp -d)
cleanup() {
  rc=$?
  if [ $rc -ne 0 ]; then dc logs --no-color --tail 50 >&2 || true; fi
  dc down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

echo "--- compose up"
t0=$(date +%s.%N)
if [ "${compose[*]}" = "docker compose" ]; then
  dc up -d --wait
else
  dc up -d
  docker/wait-healthy.sh $(dc ps -q)
fi
echo "compose up to healthy: $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}")s"
port() { dc port "$1" "$2" | sed 's/.*://'; }
proxy_port=$(port proxy 8082) issuer_port=$(port fakeissuer 8081) index_port=$(port fakeindex 8080)

echo "--- publish from the host with Debian's twine, through the proxy"
curl -fsS "http://127.0.0.1:$proxy_port/_fake/ca.pem" > "$work/ca.pem"
(
  cd "$work"
  # The GitHub job environment, from the issuer (host binary built by
  # docker/build.sh): ACTIONS_ID_TOKEN_REQUEST_URL names
  # https://token.actions.githubusercontent.com, reached through the proxy.
  eval "$("$repo/docker/bin/fakeissuer" env --url "http://127.0.0.1:$issuer_port")"
  export HTTPS_PROXY="http://127.0.0.1:$proxy_port" https_proxy="http://127.0.0.1:$proxy_port" NO_PROXY= no_proxy=
  export REQUESTS_CA_BUNDLE="$work/ca.pem" SSL_CERT_FILE="$work/ca.pem" CURL_CA_BUNDLE="$work/ca.pem"
  export PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring
  # Debian's twine is 4.0.2, older than its trusted-publishing support
  # (6.1), so the exchange is gh-action-pypi-publish's sequence in
  # python3-requests; twine then uploads with the minted token.
  python3 - <<'PY' > token
import os, zipfile, requests
# demo 1.0: the smallest wheel twine and the index accept.
name = "demo-1.0-py3-none-any.whl"
with zipfile.ZipFile(name, "w") as z:
    files = {
        "demo/__init__.py": "",
        "demo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: fakepypi container test\n",
        "demo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: ci-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    for f, c in files.items():
        z.writestr(f, c)
    z.writestr("demo-1.0.dist-info/RECORD", "".join(f"{f},,\n" for f in files) + "demo-1.0.dist-info/RECORD,,\n")
aud = requests.get("https://upload.pypi.org/_/oidc/audience", timeout=10).json()["audience"]
r = requests.get(os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"], params={"audience": aud},
                 headers={"Authorization": "bearer " + os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]}, timeout=10)
r.raise_for_status()
m = requests.post("https://upload.pypi.org/_/oidc/mint-token", json={"token": r.json()["value"]}, timeout=10)
if not m.ok:
    raise SystemExit(f"mint-token: {m.status_code} {m.text}")
print(m.json()["token"])
PY
  twine upload --non-interactive --disable-progress-bar --repository-url https://upload.pypi.org/legacy/ \
    -u __token__ -p "$(cat token)" demo-1.0-py3-none-any.whl
  curl -fsS https://pypi.org/simple/demo/ | grep >/dev/null 'demo-1.0-py3-none-any.whl' ||
    { echo "demo-1.0-py3-none-any.whl not on https://pypi.org/simple/demo/" >&2; exit 1; }
  # pip installs it through the proxy: the index behind it links files on
  # https://files.pythonhosted.org/packages/ as PyPI does (compose.yaml's
  # --files-url), and redirects keep https (X-Forwarded-Proto).
  PIP_CERT="$work/ca.pem" python3 -m pip install -v --no-deps --no-cache-dir --disable-pip-version-check \
    --index-url https://pypi.org/simple/ --target "$work/site" Demo==1.0 >"$work/pip.log" 2>&1 ||
    { cat "$work/pip.log" >&2; echo "pip could not install demo 1.0 from the compose setup" >&2; exit 1; }
  test -f "$work/site/demo/__init__.py" ||
    { cat "$work/pip.log" >&2; echo "pip installed no demo package" >&2; exit 1; }
  grep -q "https://files.pythonhosted.org/packages/" "$work/pip.log" ||
    { cat "$work/pip.log" >&2; echo "pip did not download from files.pythonhosted.org" >&2; exit 1; }
)
curl -fsS "http://127.0.0.1:$index_port/simple/demo/" | grep >/dev/null 'demo-1.0-py3-none-any.whl'
echo "published demo 1.0; listed on /simple/demo/; pip installed it through the proxy"

echo "--- inside the compose network: real hostnames through the aliases"
# A throw-away container of the same image on the compose network, trusting
# the CA from the shared volume: pypi.org resolves to the proxy's alias.
net=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' "$(dc ps -q fakeindex)")
# http://fakeindex:8080/_fake/config: the control plane by service name,
# which compose.yaml allows with --control-allow-host.
for u in https://pypi.org/simple/demo/ https://files.pythonhosted.org/_fake/health \
         https://token.actions.githubusercontent.com/.well-known/openid-configuration \
         https://test.pypi.org/_/oidc/audience http://fakeindex:8080/_fake/config; do
  docker run --rm --network "$net" -v "${project}_ca:/ca:ro" -e SSL_CERT_FILE=/ca/ca.pem \
    "$FAKEPYPI_IMAGE" /fakeindex healthcheck --url "$u"
done

# TestPyPI is its own index: audience testpypi, and demo 1.0 is not there.
curl -fsS --proxy "http://127.0.0.1:$proxy_port" --cacert "$work/ca.pem" https://test.pypi.org/_/oidc/audience | grep >/dev/null '"testpypi"'
if curl -fsS --proxy "http://127.0.0.1:$proxy_port" --cacert "$work/ca.pem" https://test.pypi.org/simple/demo/ 2>/dev/null | grep >/dev/null demo-1.0; then
  echo "demo 1.0 leaked into test.pypi.org" >&2; exit 1
fi

echo "--- docker run: the printed environment, used from the host"
# The image's own command on free ports (each published on the same number,
# as docs/containers.md says), so the environment it prints names ports
# the host reaches. Its CA path is a per-run file in /tmp on both sides.
read -r p1 p2 p3 < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
run_name=fakepypi-run-$$ run_ca=/tmp/fakepypi-ca-$$.pem
docker run -d --name "$run_name" -p "127.0.0.1:$p1:$p1" -p "127.0.0.1:$p2:$p2" -p "127.0.0.1:$p3:$p3" "$FAKEPYPI_IMAGE" \
  /fakeindex up --data /data --env-ca "$run_ca" --addr-index "0.0.0.0:$p1" --addr-issuer "0.0.0.0:$p2" --addr-proxy "0.0.0.0:$p3" >/dev/null
run_cleanup() { docker rm -f "$run_name" >/dev/null 2>&1 || true; rm -f "$run_ca"; }
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$p3/_fake/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS -o "$run_ca" "http://127.0.0.1:$p3/_fake/ca.pem"
docker logs "$run_name" 2>/dev/null > "$work/run.env"
grep -q "^export FAKEPYPI_INDEX_URL='https://127.0.0.1:$p1'$" "$work/run.env" ||
  { echo "docker run printed no loopback index URL:" >&2; cat "$work/run.env" >&2; run_cleanup; exit 1; }
grep -q "^export REQUESTS_CA_BUNDLE='$run_ca'$" "$work/run.env" ||
  { echo "docker run's env does not name $run_ca" >&2; run_cleanup; exit 1; }
(
  cd "$work"
  . ./run.env
  twine upload --non-interactive --disable-progress-bar -u __token__ -p "$("$repo/docker/bin/fakeindex" mint)" demo-1.0-py3-none-any.whl
  curl -fsS https://pypi.org/simple/demo/ | grep >/dev/null 'demo-1.0-py3-none-any.whl'
) || { docker logs "$run_name" >&2; run_cleanup; exit 1; }
run_cleanup
echo "docker run: published demo 1.0 from the host through the printed environment"

echo "--- compose down"
dc down -v --remove-orphans

echo "--- testcontainers-go module"
# No registry: Ryuk's image cannot be pulled, so it is disabled and the
# tests clean up their containers themselves.
export TESTCONTAINERS_RYUK_DISABLED=true
# The engine shares this machine's network namespace (unix socket), so
# published ports are on localhost; without this testcontainers' /.dockerenv
# heuristic would use the default gateway when this script runs inside a
# container. The module detects that case itself (testcontainers/fakepypi/
# host.go); setting it here keeps the script independent of the detection.
if [ -z "${DOCKER_HOST:-}" ] || [[ "${DOCKER_HOST}" == unix://* ]]; then
  export TESTCONTAINERS_HOST_OVERRIDE=${TESTCONTAINERS_HOST_OVERRIDE:-localhost}
fi
(cd testcontainers/fakepypi && go vet ./... && go test -count=1 ./...)
echo "docker/ci-test.sh: OK"
