#!/usr/bin/env bash
# npm run test:compose: docker-compose.yml run as users deploy it (docs/deploy.md). Builds the
# images from a local Debian base, then runs tests/compose/ against a project of its own; whatever happens (a
# failure, Ctrl-C, a kill of the test process), the trap removes every container, network and volume of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash infra/compose/local/build-images.sh
export COMPOSE_TEST_PROJECT="wa-connect-test-$$"
remove_project() {
  local label="label=com.docker.compose.project=$COMPOSE_TEST_PROJECT"
  local containers networks volumes
  containers=$(podman ps -aq --filter "$label")
  [ -z "$containers" ] || podman rm -f --depend $containers >/dev/null
  networks=$(podman network ls -q --filter "$label")
  [ -z "$networks" ] || podman network rm -f $networks >/dev/null
  volumes=$(podman volume ls -q --filter "$label")
  [ -z "$volumes" ] || podman volume rm -f $volumes >/dev/null
  return 0
}
trap remove_project EXIT
node --import tsx --test --test-reporter=spec tests/compose/deployed-stack.compose.ts
