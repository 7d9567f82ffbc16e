"""bpmn-js, served from the npm package the set-up installs (node_modules/, never copied into the repo)."""
import os
from pathlib import Path

from flask import Blueprint, abort, send_from_directory

from .access import public

blueprint = Blueprint("assets", __name__)

NODE_MODULES = Path(os.environ.get("MAESTRO_NODE_MODULES") or Path(__file__).resolve().parent.parent / "node_modules")
BPMN_JS = NODE_MODULES / "bpmn-js" / "dist"


@blueprint.get("/vendor/bpmn-js/<path:filename>")
@public
def bpmn_js(filename):
    if not BPMN_JS.is_dir():
        abort(404, description=f"bpmn-js is not installed in {NODE_MODULES}: run `npm install` in Maestro's folder "
                               "(start.sh and test.sh do)")
    return send_from_directory(BPMN_JS, filename, max_age=3600)
