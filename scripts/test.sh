#!/usr/bin/env bash
# The whole check: lint, the Qt boundary, then every test. Run it through `./run test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check studio tests bench
echo "== import-linter (no Qt below studio/ui, studio/web, studio/app.py)"
lint-imports
echo "== pytest"
exec python -m pytest "$@"
