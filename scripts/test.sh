#!/usr/bin/env bash
# The whole check: lint, format, types, the layers, then every test. Run it through `./run test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check studio tests bench
echo "== ruff format"
ruff format --check studio tests bench
echo "== mypy"
mypy studio
echo "== import-linter (the layers; no Qt below studio/ui, studio/web, studio/app.py)"
lint-imports
echo "== pytest"
exec python -m pytest "$@"
