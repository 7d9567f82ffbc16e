"""Uploaded BPMN files, made fit to deploy: BPMN documents, as UTF-8 text, under names a database keeps.

`deploy` is the one way the web app deploys (the upload page, POST
/api/definitions, deploying a draft), so that all of them refuse the same.
"""
from flask import current_app
from lxml import etree

from engine.durable.store.models import Definition
from engine.forms.files import is_form_file
from engine.namespaces import NSMAP
from engine.problems import DeployError, Problem
from engine.read.untrusted_xml import UnsafeXml, as_utf8, parse_untrusted

from .request_input import BadRequest, check_text

FILE_NAME_LENGTH = Definition.__table__.c.file_name.type.length
DEFINITIONS = f"{{{NSMAP['bpmn']}}}definitions"
PROCESS = f"{{{NSMAP['bpmn']}}}process"


def deploy(maestro, files: list[tuple[str, bytes]], force_executable: bool = False,
           by: str | None = None) -> list[dict]:
    """Deploys uploaded (name, bytes) files as Maestro.deploy does; DeployError (nothing deployed) or BadRequest.

    When this server's worker runs what is deployed here (not `--no-worker`), a service task none of its
    handlers binds is refused. `by`: the person deploying."""
    return maestro.deploy(prepared(files), force_executable=force_executable,
                          check_handlers=current_app.config.get("MAESTRO_RUNS_HANDLERS", True), by=by)


def prepared(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The (name, bytes) files, each rewritten in UTF-8 (ISO-8859-1, UTF-16... are read as declared).

    A file that is not well-formed is passed on as it is: deploying it reports
    the line where it breaks. DeployError for a document that is no BPMN file
    or holds no process (deploying it would deploy nothing and say nothing);
    BadRequest for a file name no database keeps.
    """
    converted = []
    for name, data in files:
        check_text(name, "the file name")
        if len(name) > FILE_NAME_LENGTH:
            raise BadRequest(f"the file name is {len(name)} characters long; at most {FILE_NAME_LENGTH} are kept")
        if is_form_file(name):  # JSON: deploying it reads and refuses it (engine.forms.files)
            converted.append((name, data))
            continue
        try:
            _refuse_what_deploys_nothing(name, parse_untrusted(data))
            data = as_utf8(data)
        except etree.XMLSyntaxError:
            pass
        except UnsafeXml as error:
            raise DeployError([Problem(name, error.line, "", str(error))]) from None
        converted.append((name, data))
    return converted


def _refuse_what_deploys_nothing(name, root):
    if root.tag != DEFINITIONS:
        raise DeployError([Problem(name, root.sourceline or 0, "", f"not a BPMN file: its root element is "
                                                                    f"<{etree.QName(root).localname}>, not "
                                                                    "<bpmn:definitions>")])
    if root.find(PROCESS) is None:
        raise DeployError([Problem(name, root.sourceline or 0, "", "the file holds no process: nothing to deploy")])
