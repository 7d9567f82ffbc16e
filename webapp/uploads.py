"""Uploaded BPMN files, made fit to store: UTF-8 text under a name a database keeps."""
from lxml import etree

from engine.problems import DeployError, Problem
from engine.store.models import Definition
from engine.untrusted_xml import UnsafeXml, as_utf8 as utf8_document

from .request_input import BadRequest, check_text

FILE_NAME_LENGTH = Definition.__table__.c.file_name.type.length


def as_utf8(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The (name, bytes) files with each document rewritten in UTF-8 (ISO-8859-1, UTF-16... are read as declared).

    A file that is not well-formed is passed on as it is: deploying it reports
    the line where it breaks. BadRequest for a file name no database keeps.
    """
    converted = []
    for name, data in files:
        check_text(name, "the file name")
        if len(name) > FILE_NAME_LENGTH:
            raise BadRequest(f"the file name is {len(name)} characters long; at most {FILE_NAME_LENGTH} are kept")
        try:
            data = utf8_document(data)
        except etree.XMLSyntaxError:
            pass
        except UnsafeXml as error:
            raise DeployError([Problem(name, error.line, "", str(error))]) from None
        converted.append((name, data))
    return converted
