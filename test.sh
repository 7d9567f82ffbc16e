#!/usr/bin/env bash
# Installs Maestro with its test dependencies into .venv and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/venv.sh test
python -m pytest "$@"
