# Sourced by start.sh and test.sh: creates .venv and installs Maestro into it
# (editable), with the extras given as arguments; reinstalls when pyproject.toml changes.
# Then installs the web app's npm packages into node_modules and builds the front-end bundles.
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
# bpmn-js and the editor's packages, from the npm registry (package.json, package-lock.json).
if [ ! -d node_modules/bpmn-js ] || [ ! -x node_modules/.bin/esbuild ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    command -v npm >/dev/null || { echo "npm (Node.js) is required for the web app's diagram viewer" >&2; exit 1; }
    echo "installing the web app's npm packages into node_modules (first run only)..."
    npm ci --no-audit --no-fund --loglevel=error > .venv/npm.log 2>&1 || { cat .venv/npm.log >&2; exit 1; }
fi
# The bundles of the editor, the compare page and the forms (webapp/frontend/ -> webapp/static/dist/, never
# committed): built when one is missing or older than the sources, the packages or the build script.
stale=""
for bundle in webapp/static/dist/editor.js webapp/static/dist/compare.js webapp/static/dist/forms.js; do
    if [ ! -f "$bundle" ] || [ package-lock.json -nt "$bundle" ] || [ package.json -nt "$bundle" ] \
            || [ -n "$(find webapp/frontend -newer "$bundle" -type f -print -quit)" ]; then
        stale=1
    fi
done
if [ -n "$stale" ]; then
    echo "building the editor and the compare page (webapp/frontend) with esbuild..."
    npm run build > .venv/build.log 2>&1 || { cat .venv/build.log >&2; exit 1; }
fi
