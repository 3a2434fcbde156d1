"""What an uploaded file really is, judged by its bytes; and file names safe to send back.

The declared type (the multipart part's `Content-Type`) and the file name are the client's
claims; the content decides, read by `puremagic` (pure Python, no libmagic to pin) and the
checks below:

- `%PDF-` at the start, which the library recognises as PDF: PDF.
- A ZIP archive: ODF by its `mimetype` entry, OOXML by `[Content_Types].xml` and the main part
  (`word/document.xml` → DOCX, `xl/workbook.xml` → XLSX); macro-enabled documents (a
  `vbaProject.bin` inside) are refused; any other archive is not a document.
- Executables (ELF, Mach-O, PE/`MZ`) are refused outright, whatever they are called.
- Otherwise, bytes that decode as UTF-8 with no NUL are text: Markdown or CSV when the declared
  type or the file's extension says so, plain text otherwise (text subtypes cannot be told
  apart by content alone, and serving any of them as `text/plain` is harmless).
- Any other binary is the type the library names (a PNG is `image/png`), or an unknown one,
  and refused unless the call allows it.

A declared type that contradicts the content (say, `application/pdf` for a DOCX, or
`image/png` for a PDF) is refused too: the client is confused or lying. Only
`application/octet-stream` (or no type) claims nothing.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import puremagic

from evidence.schemas import MediaType
from servicekit.problems import ProblemError

HEAD_BYTES = 512
OCTET_STREAM = "application/octet-stream"
ZIP = "application/zip"

_EXECUTABLE_MAGIC = (
    (b"\x7fELF", "an ELF executable"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O universal binary"),
    (b"MZ", "a Windows (PE) executable"),
)
# Extensions `puremagic` gives programs and libraries (it names more with "executable").
_PROGRAM_EXTENSIONS = frozenset(
    {".exe", ".dll", ".sys", ".scr", ".com", ".ocx", ".cpl", ".drv", ".efi", ".msi", ".appimage"}
)
_EXTENSIONS = {".csv": MediaType.csv, ".md": MediaType.markdown, ".markdown": MediaType.markdown}
_UNSAFE_IN_NAME = re.compile(r'[\\/"<>:|?*;\x00-\x1f\x7f]')
MAX_FILENAME = 200


class Sniffer:
    """Watches an upload's bytes go by (one chunk at a time) to judge them at the end."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._text = True

    def feed(self, chunk: bytes) -> None:
        """Look at the next chunk."""
        self.size += len(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        if self._text:
            if b"\x00" in chunk:
                self._text = False
                return
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self._text = False

    @property
    def is_text(self) -> bool:
        """Whether every byte so far (and the end) is valid UTF-8 without NUL."""
        if not self._text:
            return False
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            self._text = False
        return self._text


def _unsupported(what: str, allowed: list[str]) -> ProblemError:
    return ProblemError(
        415,
        "Unsupported attachment type",
        f"The file's content is {what}, which is not accepted here. Accepted: "
        + ", ".join(allowed)
        + ".",
        type_="/problems/unsupported-attachment-type",
    )


def _refused(what: str) -> ProblemError:
    return ProblemError(
        415,
        "Attachment refused",
        f"The file is {what}, whatever its name or declared type says; executable content is "
        "never accepted.",
        type_="/problems/executable-attachment",
    )


ODF_PREFIX = "application/vnd.oasis.opendocument."
# An archive with more entries than this is not a document anyone sends as evidence.
MAX_ENTRIES = 10_000
_EXECUTABLE_NAMES = re.compile(
    r"\.(exe|dll|com|scr|msi|bat|cmd|ps1|vbs|js|jar|sh|elf|so|dylib|app)$", re.IGNORECASE
)


def _refuse_executables_inside(archive: zipfile.ZipFile) -> None:
    """A document is a ZIP of parts: none may be a program, by its name or by its first bytes
    (each part's head only is decompressed)."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ProblemError(
            415,
            "Attachment refused",
            f"The archive holds {len(infos)} entries; a document has far fewer.",
            type_="/problems/unsupported-attachment-type",
        )
    for info in infos:
        if info.is_dir():
            continue
        if _EXECUTABLE_NAMES.search(info.filename):
            raise _refused(f"an archive holding a program ({info.filename})")
        with archive.open(info) as part:
            head = part.read(8)
        # No part of a document begins like a program (an XML part, an image, a font...).
        for magic, what in _EXECUTABLE_MAGIC:
            if head.startswith(magic):
                raise _refused(f"an archive holding {what} ({info.filename})")


def _zip_type(path: Path) -> str:
    """The document type of a ZIP-based file, from its parts (never decompressing it all).

    The archive's own labels are checked against its structure, not believed: a `mimetype`
    entry counts only when it names an OpenDocument type and the parts of one are there."""
    try:
        with zipfile.ZipFile(path) as archive:
            _refuse_executables_inside(archive)
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as f:
                    label = f.read(100).decode("ascii", "replace").strip()
                return label if label.startswith(ODF_PREFIX) and "content.xml" in names else ZIP
            if "[Content_Types].xml" in names:
                if any(n.lower().endswith("vbaproject.bin") for n in names):
                    raise _refused("a macro-enabled Office document")
                if "word/document.xml" in names:
                    return MediaType.docx.value
                if "xl/workbook.xml" in names:
                    return MediaType.xlsx.value
            return ZIP
    except (zipfile.BadZipFile, OSError, EOFError):
        return OCTET_STREAM


def library_matches(head: bytes) -> list[Any]:
    """What `puremagic` recognises in a file's first bytes, most likely first (none: [])."""
    if not head:
        return []
    try:
        return list(puremagic.magic_string(head))
    except puremagic.PureError:
        return []


def _executable(matches: list[Any]) -> str | None:
    """The library's name for a program among its matches, if any."""
    for match in matches:
        name = str(match.name)
        if match.extension.lower() in _PROGRAM_EXTENSIONS or any(
            word in name.lower() for word in ("executable", "mach-o")
        ):
            return f"a program ({name})"
    return None


def detect(path: Path, sniffer: Sniffer, declared: str | None, filename: str) -> str:
    """The media type of the staged file at `path`; executables refused (415).

    The first bytes are judged by `puremagic` (a maintained, pure-Python magic-number
    library) and by the executable signatures above: programs are refused whatever else they
    might be; a PDF is a PDF; a ZIP (which the library can only guess at from its head) is
    decided by its parts; a file that is UTF-8 text throughout is text, since text may begin
    with anything a two-byte magic number matches; any other binary the library names is that
    type (and refused as not allowed). Blocking (it may read the ZIP directory): run it in a
    worker thread.
    """
    head = bytes(sniffer.head)
    matches = library_matches(head)
    text = sniffer.is_text
    for magic, what in _EXECUTABLE_MAGIC:
        # "MZ" may also begin a text file; a PE executable is never valid UTF-8.
        if head.startswith(magic) and not (magic == b"MZ" and text):
            raise _refused(what)
    program = None if text else _executable(matches)
    if program is not None:
        raise _refused(program)
    if head.startswith(b"%PDF-") and any(m.mime_type == MediaType.pdf.value for m in matches):
        return MediaType.pdf.value
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(path)
    if text and sniffer.size:
        declared_base = (declared or "").split(";", 1)[0].strip().lower()
        if declared_base in (MediaType.csv.value, MediaType.markdown.value):
            return declared_base
        return _EXTENSIONS.get(Path(filename).suffix.lower(), MediaType.txt).value
    named = [m for m in matches if m.mime_type]
    if named:
        return str(named[0].mime_type)
    return OCTET_STREAM


# Declared types that claim nothing about the content (a client that does not know it).
_NO_CLAIM = frozenset({"", OCTET_STREAM, "binary/octet-stream"})


def check_type(detected: str, declared: str | None, allowed: list[str]) -> MediaType:
    """The detected type if allowed and not contradicted by the declared type; else 415.

    A declared type must agree with the content: the same type, another text type for text
    (text subtypes cannot be told apart by content), or no claim at all."""
    if detected not in allowed:
        raise _unsupported(detected, allowed)
    declared_base = (declared or "").split(";", 1)[0].strip().lower()
    same_family = declared_base.startswith("text/") and detected.startswith("text/")
    if declared_base not in _NO_CLAIM and declared_base != detected and not same_family:
        raise ProblemError(
            415,
            "Attachment type mismatch",
            f"The part was declared {declared_base} but its content is {detected}.",
            type_="/problems/attachment-type-mismatch",
        )
    return MediaType(detected)


def safe_filename(raw: str | None) -> str:
    """A file name with no path, no control characters, nothing a header or shell would misread."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_IN_NAME.sub("_", name).strip().strip(".").strip()
    if not name:
        return "attachment"
    if len(name) > MAX_FILENAME:
        _stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = name[: MAX_FILENAME - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    fallback = fallback.replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
