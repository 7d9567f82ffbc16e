# Sourced by start.sh and test.sh: creates .venv and installs Maestro into it
# (editable), with the extras given as arguments; reinstalls when pyproject.toml changes.
# Then installs the web app's npm packages into node_modules.
extras="${1:-}"
python3 -m venv .venv >/dev/null 2>&1 || { echo "python3 with the venv module is required" >&2; exit 1; }
source .venv/bin/activate
stamp=".venv/.installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing Maestro into .venv (first run only)..."
    if ! { python -m pip install --quiet --upgrade pip && python -m pip install --quiet -e ".${extras:+[$extras]}"; } \
            > .venv/install.log 2>&1; then
        cat .venv/install.log >&2
        exit 1
    fi
    touch "$stamp"
fi
# bpmn-js for the web app's diagrams, from the npm registry (package.json, package-lock.json).
if [ ! -d node_modules/bpmn-js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    command -v npm >/dev/null || { echo "npm (Node.js) is required for the web app's diagram viewer" >&2; exit 1; }
    echo "installing bpmn-js into node_modules (first run only)..."
    npm ci --no-audit --no-fund --loglevel=error > .venv/npm.log 2>&1 || { cat .venv/npm.log >&2; exit 1; }
fi
