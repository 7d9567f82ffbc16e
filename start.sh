#!/usr/bin/env bash
# Installs Maestro into .venv (first run only) and starts it on the embedded SQLite
# database (maestro.db here): deploys bpmn/, starts two demo orders of the seed saga
# (one happy, one whose shipping fails and is rolled back), and runs a worker until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/venv.sh
maestro deploy bpmn/order_fulfillment/order_fulfillment.bpmn
happy=$(maestro start order_fulfillment --data '{"items": ["book"]}' --business-key demo-happy)
rollback=$(maestro start order_fulfillment --data '{"items": ["book"], "fail_at": "shipping"}' \
    --business-key demo-rollback)
cat <<TEXT
Started two orders. In another terminal (after 'source .venv/bin/activate'):
  maestro instances
  maestro show $happy
  maestro show $rollback      # the undo steps, newest first
Stop the worker with Ctrl-C.
TEXT
exec maestro worker --processes bpmn
