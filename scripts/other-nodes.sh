#!/usr/bin/env bash
# Runs the type-check, the build, the unit suites and the core workerd suites (protocol, turns, live turns, on D1)
# on Node 22 and 24 too (binaries from the npm registry's `node` package, kept in .node-versions/), next to the
# Node 20 the project is pinned for (docs/toolchain.md says why the pins stay). Usage: scripts/other-nodes.sh [major ...]
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  case "$arg" in
    --help | -h) echo "usage: scripts/other-nodes.sh [MAJOR …]: type-check, build, unit and D1 suites on each Node major (default: 22 24)"; exit 0 ;;
    *[!0-9]* | "") echo "other-nodes.sh: '$arg' is not a Node major version such as 22 (see --help)" >&2; exit 2 ;;
  esac
done
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)
for major in "${majors[@]}"; do
  dir=".node-versions/$major"
  if [ ! -x "$dir/node_modules/.bin/node" ]; then
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$major" >/dev/null
  fi
  echo "== Node $("$dir/node_modules/.bin/node" --version)"
  PATH="$PWD/$dir/node_modules/.bin:$PATH" npm run typecheck --silent
  PATH="$PWD/$dir/node_modules/.bin:$PATH" npm run build --silent >/dev/null
  PATH="$PWD/$dir/node_modules/.bin:$PATH" npx vitest run --project unit
  PATH="$PWD/$dir/node_modules/.bin:$PATH" npx vitest run --project d1 test/workerd/protocol.test.ts test/workerd/turns.test.ts test/workerd/live-turns.test.ts
done
