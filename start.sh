#!/usr/bin/env bash
# Installs Maestro into .venv (first run only) and starts it on the embedded SQLite
# database (maestro.db here): on the first run, deploys the seed saga and starts two
# demo orders of it (one happy, one whose shipping fails and is rolled back), and the
# same two of the seed choreography (bpmn/order_choreography: its order process starts
# the payment, stock, shipping and notification processes by messages); then
# serves the web app with a worker at http://127.0.0.1:5000/ until Ctrl-C. Serving
# deploys the files of bpmn/ that changed since it last deployed them, so a restart
# never puts a folder file back over a version deployed from the editor or an upload.
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/venv.sh
if [ -z "$(maestro instances --process order_fulfillment --limit 1)" ]; then  # the first run
    maestro deploy bpmn/order_fulfillment/order_fulfillment.bpmn
    maestro start order_fulfillment --data '{"items": ["book"]}' --business-key demo-happy >/dev/null
    maestro start order_fulfillment --data '{"items": ["book"], "fail_at": "shipping"}' \
        --business-key demo-rollback >/dev/null
    echo "Started two demo orders; open http://127.0.0.1:${MAESTRO_PORT:-5000}/instances to follow them"
    echo "(sign in as the administrator Maestro prints below, the first time it serves)."
fi
if [ -z "$(maestro instances --process order_placement --limit 1)" ]; then  # the first run with the choreography
    maestro deploy bpmn/order_choreography/*.bpmn
    maestro start order_placement --business-key demo-choreo-happy >/dev/null
    maestro start order_placement --data '{"fail_at": "ship_order"}' --business-key demo-choreo-rollback >/dev/null
    echo "Started two demo orders of the choreography (business keys demo-choreo-happy, demo-choreo-rollback)."
fi
exec maestro serve --processes bpmn --port "${MAESTRO_PORT:-5000}"
