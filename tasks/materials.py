"""What a material file may be: the kinds of file an institution may submit, checked by their content.

An application's materials (营业执照, proof of sites and equipment, staff qualifications, rules, the work plan, …) are
files that a caseworker opens in the browser. Everything about a file comes from outside and is hostile until
checked, so a file is taken only when

- it is not empty and not larger than ``MAX_MATERIAL_BYTES``;
- its name is a clean one-line text (``tasks.text``) of at most ``MAX_FILE_NAME`` characters, with an extension
  of one of ``FILE_TYPES``;
- its **content** is that type: a PDF starts as a PDF does, a JPEG as a JPEG, a Word file is an Office Open XML
  package holding a Word document, and so on. A file named ``.pdf`` that is something else is refused, because it
  is served to the browser under the type its name claims.

Office Open XML and OFD files are ZIP packages: only their central directory (the list of names) is read, never a
member's content, so a ZIP bomb costs nothing here. The file is never opened by anything else on the server.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Final

from tasks.errors import InvalidInput
from tasks.limits import MIB, amount
from tasks.text import text_problem

MAX_MATERIAL_BYTES: Final = 20 * MIB
"""One material file. A scanned licence is 0.2–2 MB; a 60-page scanned work plan at 300 dpi is about 15 MB."""
MAX_INTAKE_MATERIAL_BYTES: Final = 60 * MIB
"""All the files sent with one paper application on the intake form together (more are added on the case page, one
at a time): bounds what one request holds, as each file is read to be checked."""

MAX_FILE_NAME: Final = 200
"""Characters of a file's name as the institution called it."""

MAX_ZIP_ENTRIES: Final = 10_000
"""Names in an Office or OFD package's directory. A 300-page Word file with images has a few hundred."""


class MaterialRefused(InvalidInput):
    """A file that cannot be taken as a material: the message says why, in Chinese."""


@dataclass(frozen=True)
class FileType:
    """A kind of file a material may be."""

    key: str
    label: str  # as people call it
    media_type: str
    extensions: tuple[str, ...]
    inline: bool  # a browser shows it in the page (PDF, images) rather than downloading it


FILE_TYPES: Final = (
    FileType("pdf", "PDF", "application/pdf", (".pdf",), True),
    FileType("jpeg", "JPG 图片", "image/jpeg", (".jpg", ".jpeg"), True),
    FileType("png", "PNG 图片", "image/png", (".png",), True),
    # 版式文档 (GB/T 33190-2016): the format of many government-issued electronic licences and certificates.
    FileType("ofd", "OFD 版式文档", "application/ofd", (".ofd",), False),
    FileType("docx", "Word 文档",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",), False),
    FileType("xlsx", "Excel 表格", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",),
             False),
    FileType("doc", "Word 97-2003 文档", "application/msword", (".doc",), False),
    FileType("xls", "Excel 97-2003 表格", "application/vnd.ms-excel", (".xls",), False),
)
_BY_EXTENSION: Final = {extension: kind for kind in FILE_TYPES for extension in kind.extensions}
ACCEPTED: Final = "、".join(dict.fromkeys(kind.label.split(" ")[0] for kind in FILE_TYPES))
"""The accepted kinds as a refusal names them: PDF、JPG、PNG、OFD、Word、Excel."""
ACCEPT_ATTRIBUTE: Final = ",".join(extension for kind in FILE_TYPES for extension in kind.extensions)
"""The ``accept`` attribute of a file input that offers exactly these."""

_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file header of .doc and .xls
# The member each package must hold to be that kind of file (its main part).
_PACKAGE_MARKERS: Final = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "ofd": "OFD.xml"}


@dataclass(frozen=True)
class MaterialFile:
    """A checked file: its clean name, its type, its size and the SHA-256 of its content."""

    file_name: str
    file_type: FileType
    size: int
    sha256: str


def check_material_file(file_name: str, content: bytes) -> MaterialFile:
    """The checked file, or MaterialRefused saying why it is not taken (nothing is stored for a refused file)."""
    name = _clean_name(file_name)
    if not content:
        raise MaterialRefused(f"文件“{name}”是空文件，请选择有内容的文件")
    if len(content) > MAX_MATERIAL_BYTES:
        raise MaterialRefused(
            f"文件“{name}”过大（{amount(len(content))}），每个文件不能超过 {amount(MAX_MATERIAL_BYTES)}")
    extension = PurePosixPath(name.lower()).suffix
    file_type = _BY_EXTENSION.get(extension)
    if file_type is None:
        shown = f"扩展名 {extension}" if extension else "没有扩展名"
        raise MaterialRefused(f"文件“{name}”{shown}，只接受 {ACCEPTED} 文件")
    if not _content_is(file_type, content):
        raise MaterialRefused(
            f"文件“{name}”的内容不是{file_type.label}，与扩展名 {extension} 不符（文件可能已损坏或被改名）")
    return MaterialFile(name, file_type, len(content), hashlib.sha256(content).hexdigest())


def _clean_name(file_name: str) -> str:
    # A browser may send a full path (old Internet Explorer: C:\Users\…\licence.pdf): only its last part is a name.
    name = PureWindowsPath(PurePosixPath(file_name).name).name.strip()
    problem = text_problem(name, required=True)
    if problem:
        raise MaterialRefused(f"文件名{problem}")
    if len(name) > MAX_FILE_NAME:
        raise MaterialRefused(f"文件名过长（{len(name)} 个字符），不能超过 {MAX_FILE_NAME} 个字符")
    return name


def _content_is(file_type: FileType, content: bytes) -> bool:
    if file_type.key == "pdf":
        # The header may follow a little junk (a BOM, a mail header) and readers accept that; 1 KB is what they scan.
        return b"%PDF-" in content[:1024]
    if file_type.key == "jpeg":
        return content.startswith(b"\xff\xd8\xff")
    if file_type.key == "png":
        return content.startswith(b"\x89PNG\r\n\x1a\n")
    if file_type.key in ("doc", "xls"):
        return content.startswith(_OLE2)
    return _package_holds(content, _PACKAGE_MARKERS[file_type.key])


def _package_holds(content: bytes, marker: str) -> bool:
    """Whether a ZIP package's directory names ``marker``; nothing is decompressed, and a directory of more than
    MAX_ZIP_ENTRIES names is refused before it is read (20 MB of directory would be half a million objects)."""
    if not content.startswith(b"PK\x03\x04"):
        return False
    count = _zip_entry_count(content)
    if count is None or count > MAX_ZIP_ENTRIES:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            return any(entry.filename.lstrip("/") == marker for entry in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return False


_END_OF_DIRECTORY: Final = b"PK\x05\x06"
_END_OF_DIRECTORY_SIZE: Final = 22
_MAX_COMMENT: Final = 0xFFFF


def _zip_entry_count(content: bytes) -> int | None:
    """The number of names the ZIP's end-of-directory record announces, or None if there is none. A ZIP64 package
    (over 65,535 names, or over 4 GB) is never a material: it reads as too many."""
    start = content.rfind(_END_OF_DIRECTORY, max(0, len(content) - _END_OF_DIRECTORY_SIZE - _MAX_COMMENT))
    if start < 0 or start + _END_OF_DIRECTORY_SIZE > len(content):
        return None
    (total,) = struct.unpack_from("<H", content, start + 10)
    return total
