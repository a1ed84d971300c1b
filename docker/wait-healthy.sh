#!/bin/sh
# Wait until every given container is healthy: what `docker compose up
# --wait` does, for Compose 1.x (Debian 12's docker-compose 1.29), which
# lacks --wait.
#
#   docker-compose up -d && docker/wait-healthy.sh $(docker-compose ps -q)
#
# Exits 1 with the failing container's last health output if one turns
# unhealthy or exits, or after $WAIT_TIMEOUT seconds (default 60).
set -eu
[ $# -gt 0 ] || { echo "usage: $0 CONTAINER..." >&2; exit 2; }
deadline=$(( $(date +%s) + ${WAIT_TIMEOUT:-60} ))
for c in "$@"; do
  while :; do
    s=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c")
    case $s in
      "running healthy") break ;;
      *unhealthy|exited*|dead*|"running none")
        name=$(docker inspect -f '{{.Name}}' "$c")
        echo "wait-healthy: $name: $s" >&2
        docker inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$c" >&2 || true
        docker logs --tail 20 "$c" >&2 || true
        exit 1 ;;
    esac
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "wait-healthy: $(docker inspect -f '{{.Name}}' "$c"): still '$s' after ${WAIT_TIMEOUT:-60}s" >&2
      exit 1
    fi
    sleep 0.1
  done
done
