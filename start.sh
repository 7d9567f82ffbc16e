#!/usr/bin/env bash
# Installs Maestro into .venv (first run only) and runs the seed saga twice:
# once happily, once with the shipping step failing so that compensation runs.
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/venv.sh
saga=bpmn/order_fulfillment
echo "== happy path =="
maestro run "$saga/order_fulfillment.bpmn" --handlers "$saga/handlers.py" --data '{"items": ["book"]}' || true
echo
echo "== shipping fails: the completed steps are undone, newest first =="
maestro run "$saga/order_fulfillment.bpmn" --handlers "$saga/handlers.py" --data '{"items": ["book"], "fail_at": "shipping"}' || true
echo
echo "Maestro is installed in .venv: 'source .venv/bin/activate' and run 'maestro --help'."
