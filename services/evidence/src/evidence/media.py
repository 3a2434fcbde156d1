"""What an uploaded file really is, judged by its bytes; and file names safe to send back.

The declared type (the multipart part's `Content-Type`) and the file name are the client's
claims; the content decides:

- `%PDF-` at the start: PDF.
- A ZIP archive: ODF by its `mimetype` entry, OOXML by `[Content_Types].xml` and the main part
  (`word/document.xml` → DOCX, `xl/workbook.xml` → XLSX); macro-enabled documents (a
  `vbaProject.bin` inside) are refused; any other archive is not a document.
- Executables (ELF, Mach-O, PE/`MZ`) are refused outright, whatever they are called.
- Otherwise, bytes that decode as UTF-8 with no NUL are text: Markdown or CSV when the declared
  type or the file's extension says so, plain text otherwise (text subtypes cannot be told
  apart by content alone, and serving any of them as `text/plain` is harmless).
- Anything else is an unknown binary and refused.

A declared type that is one of the supported document types but contradicts the content (say,
`application/pdf` for a DOCX) is refused too: the client is confused or lying.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote

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


def detect(path: Path, sniffer: Sniffer, declared: str | None, filename: str) -> str:
    """The media type of the staged file at `path`; executables refused (415).

    Blocking (it may read the ZIP directory): run it in a worker thread.
    """
    head = bytes(sniffer.head)
    if head.startswith(b"%PDF-"):
        return MediaType.pdf.value
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(path)
    text = sniffer.is_text
    for magic, what in _EXECUTABLE_MAGIC:
        # "MZ" may also begin a text file; a PE executable is never valid UTF-8.
        if head.startswith(magic) and not (magic == b"MZ" and text):
            raise _refused(what)
    if text and sniffer.size:
        declared_base = (declared or "").split(";", 1)[0].strip().lower()
        if declared_base in (MediaType.csv.value, MediaType.markdown.value):
            return declared_base
        return _EXTENSIONS.get(Path(filename).suffix.lower(), MediaType.txt).value
    return OCTET_STREAM


def check_type(detected: str, declared: str | None, allowed: list[str]) -> MediaType:
    """The detected type if allowed and not contradicted by a specific declared type; else 415."""
    if detected not in allowed:
        raise _unsupported(detected, allowed)
    declared_base = (declared or "").split(";", 1)[0].strip().lower()
    known = {m.value for m in MediaType}
    same_family = declared_base.startswith("text/") and detected.startswith("text/")
    if declared_base in known and declared_base != detected and not same_family:
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
