"""Uploaded XML is untrusted: parse it without entities, DTDs or network, and store it as UTF-8.

The refusal of entity declarations looks at the parsed document's internal
DTD, not at the bytes, so it holds in whatever encoding the file is written
(UTF-16 or UTF-32 with or without a byte-order mark, ISO-8859-1, EBCDIC...).
"""
import codecs
import re

from lxml import etree

MAX_XML_BYTES = 20 * 1024 * 1024

# <?xml version="1.0" encoding="..."?>: rewritten when a file is stored as UTF-8.
_DECLARED_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\sencoding\s*=\s*)(["'])[^"']*\2""")
# A file without a byte-order mark starts with "<" (or blanks): its zero bytes tell UTF-16/32 and byte order.
_UNMARKED = ((b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
             (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"))


class UnsafeXml(ValueError):
    """XML Maestro refuses to parse at all; `.line` says where."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line


def safe_xml_parser(recover: bool = False) -> etree.XMLParser:
    """No entities, no DTD loading, no network: uploaded XML is untrusted."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True, recover=recover,
    )


def parse_untrusted(data: bytes) -> etree._Element:
    """The root of an uploaded document, refusing what could attack the parser.

    Entity declarations (general or parameter) are refused outright: external
    entities read files or the network, nested ones expand exponentially, and
    no BPMN tool writes them. The parser never expands them, so reading the
    document to find them is safe.
    """
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXml(f"file is larger than {MAX_XML_BYTES // (1024 * 1024)} MB")
    try:
        root = etree.fromstring(data, safe_xml_parser())
    except etree.XMLSyntaxError:
        # An entity's use can break the parse (libxml2 bounds amplification): say why it is refused.
        _refuse_entities(data, _recovered(data))
        raise
    _refuse_entities(data, root)
    return root


def _recovered(data):
    """What libxml2 can read of a broken document (its prolog at least), or None."""
    try:
        return etree.fromstring(data, safe_xml_parser(recover=True))
    except etree.XMLSyntaxError:
        return None


def _refuse_entities(data, root):
    """UnsafeXml when the document's internal DTD declares any entity."""
    docinfo = root.getroottree().docinfo if root is not None else None
    dtd = docinfo.internalDTD if docinfo is not None else None
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise UnsafeXml("XML entity declarations are not allowed in a BPMN file (Maestro never expands them)",
                        _line_of(data, docinfo.encoding, "<!ENTITY"))


def as_utf8(data: bytes) -> bytes:
    """The same document written in UTF-8 (its XML declaration saying so), line for line.

    Stored definitions are text; a file saved as ISO-8859-1 or UTF-16 must
    keep its meaning and its line numbers when it is stored and read back.
    Raises UnsafeXml (or etree.XMLSyntaxError) for a file that cannot be read.
    """
    root = parse_untrusted(data)
    text = _decoded(data, root.getroottree().docinfo.encoding)
    if text is None:
        raise UnsafeXml(f"the file's encoding ({root.getroottree().docinfo.encoding}) cannot be read: "
                        "save it as UTF-8")
    return _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", text.lstrip("\ufeff"), count=1).encode("utf-8")


def utf8_document(text: str) -> bytes:
    """A document received as text (a JSON string): its UTF-8 bytes, its XML declaration saying so.

    The text was decoded already; an `encoding="ISO-8859-1"` left in its
    declaration would make the parser misread every non-ASCII character.
    """
    return _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", text.lstrip("\ufeff"), count=1).encode("utf-8", "surrogatepass")


def _decoded(data, encoding):
    """`data` as text in the encoding libxml2 detected, or None when Python cannot decode it so."""
    for name in _codec_names(data, encoding or "utf-8"):
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return None


def _codec_names(data, encoding):
    """Python codecs to try for what libxml2 calls `encoding`: a BOM or the zero bytes decide UTF-16/32's order."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return ["utf-32"]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    if data.startswith(codecs.BOM_UTF8):
        return ["utf-8-sig"]
    unmarked = [codec for start, codec in _UNMARKED if data.startswith(start)]
    return unmarked[:1] + [encoding]


def _line_of(data, encoding, needle):
    """The line where `needle` first appears in the decoded document (0 when it cannot be told)."""
    text = _decoded(data, encoding)
    position = -1 if text is None else text.find(needle)
    return text.count("\n", 0, position) + 1 if position >= 0 else 0
