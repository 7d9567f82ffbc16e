#!/usr/bin/env bash
# Installs Maestro into .venv (first run only) and starts it on the embedded SQLite
# database (maestro.db here): deploys bpmn/, starts two demo orders of the seed saga
# (one happy, one whose shipping fails and is rolled back), and serves the web app
# with a worker at http://127.0.0.1:5000/ until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/venv.sh
maestro deploy bpmn/order_fulfillment/order_fulfillment.bpmn
maestro start order_fulfillment --data '{"items": ["book"]}' --business-key demo-happy >/dev/null
maestro start order_fulfillment --data '{"items": ["book"], "fail_at": "shipping"}' \
    --business-key demo-rollback >/dev/null
echo "Started two demo orders; open http://127.0.0.1:${MAESTRO_PORT:-5000}/instances to follow them."
exec maestro serve --processes bpmn --port "${MAESTRO_PORT:-5000}"
