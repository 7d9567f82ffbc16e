#!/usr/bin/env bash
# The checks beside the tests: ruff (lint and import order) on the whole tree, and mypy on the
# public API (the modules [tool.mypy] in pyproject.toml lists). Fails when either finds anything.
set -euo pipefail
cd "$(dirname "$0")/.."
source ./scripts/venv.sh test
ruff check .
python -m mypy
