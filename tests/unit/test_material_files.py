"""Which files a material may be (tasks/materials.py): checked by content, bounded, refused in Chinese."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pytest

from tasks.materials import (
    ACCEPT_ATTRIBUTE,
    MAX_FILE_NAME,
    MAX_MATERIAL_BYTES,
    MAX_ZIP_ENTRIES,
    MaterialRefused,
    check_material_file,
)

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def package(*names: str) -> bytes:
    """A zip package of the given entries, byte for byte the same on every run (a fixed entry time): the bytes
    appear in the tests' ids, which every pytest-xdist worker must collect alike."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), "<x/>")
    return buffer.getvalue()


DOCX = package("[Content_Types].xml", "_rels/.rels", "word/document.xml")
XLSX = package("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml")
OFD = package("OFD.xml", "Doc_0/Document.xml")


@pytest.mark.parametrize(("name", "content", "media_type", "inline"), [
    ("营业执照.pdf", PDF, "application/pdf", True),
    ("场地照片.JPG", JPEG, "image/jpeg", True),
    ("场地照片.jpeg", JPEG, "image/jpeg", True),
    ("设备.png", PNG, "image/png", True),
    ("电子营业执照.ofd", OFD, "application/ofd", False),
    ("工作方案.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", False),
    ("人员名单.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
    ("管理制度.doc", OLE2, "application/msword", False),
    ("人员名单.xls", OLE2, "application/vnd.ms-excel", False),
])
def test_each_accepted_kind_is_taken_by_its_content(name: str, content: bytes, media_type: str, inline: bool) -> None:
    checked = check_material_file(name, content)
    assert checked.file_name == name and checked.size == len(content)
    assert checked.file_type.media_type == media_type and checked.file_type.inline is inline
    assert checked.sha256 == hashlib.sha256(content).hexdigest()


def test_a_pdf_with_a_little_junk_before_its_header_is_still_a_pdf() -> None:
    assert check_material_file("a.pdf", b"\xef\xbb\xbf" + PDF).file_type.key == "pdf"


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("营业执照.pdf", b"", "是空文件"),
    ("营业执照.pdf", b"<html><script>alert(1)</script></html>", "内容不是PDF，与扩展名 .pdf 不符"),
    ("照片.png", JPEG, "内容不是PNG 图片"),
    ("照片.jpg", PNG, "内容不是JPG 图片"),
    ("方案.docx", XLSX, "内容不是Word 文档"),
    ("方案.docx", b"PK\x03\x04 not really a zip", "内容不是Word 文档"),
    ("名单.xlsx", DOCX, "内容不是Excel 表格"),
    ("制度.doc", PDF, "内容不是Word 97-2003 文档"),
    ("执照.ofd", DOCX, "内容不是OFD 版式文档"),
    ("setup.exe", b"MZ\x90\x00", "扩展名 .exe，只接受 PDF、JPG、PNG、OFD、Word、Excel 文件"),
    ("page.html", b"<html></html>", "扩展名 .html"),
    ("README", b"text", "没有扩展名"),
    ("   ", PDF, "文件名不能为空"),
    ("a\x00.pdf", PDF, "文件名含有控制字符 U+0000"),
    ("\u202egpj.pdf", PDF, "文件名含有改变文字显示方向的控制字符"),
    ("很" * MAX_FILE_NAME + ".pdf", PDF, "文件名过长"),
])
def test_what_is_not_a_material_file_is_refused_saying_why(name: str, content: bytes, reason: str) -> None:
    with pytest.raises(MaterialRefused, match=re.escape(reason)):
        check_material_file(name, content)


def test_a_file_over_the_size_limit_is_refused_with_both_sizes() -> None:
    content = PDF + b"\x00" * (MAX_MATERIAL_BYTES + 1 - len(PDF))
    with pytest.raises(MaterialRefused, match=r"过大（20\.0 MB），每个文件不能超过 20 MB"):
        check_material_file("扫描件.pdf", content)
    assert check_material_file("扫描件.pdf", content[:-1]).size == MAX_MATERIAL_BYTES


def test_a_path_sent_as_the_name_keeps_only_the_file_name() -> None:
    assert check_material_file("C:\\Users\\张三\\Desktop\\营业执照.pdf", PDF).file_name == "营业执照.pdf"
    assert check_material_file("../../etc/营业执照.pdf", PDF).file_name == "营业执照.pdf"


def test_a_package_with_too_many_names_is_refused_without_reading_its_directory() -> None:
    crowded = package("word/document.xml", *(f"p/{i}" for i in range(MAX_ZIP_ENTRIES)))
    with pytest.raises(MaterialRefused, match="内容不是Word 文档"):
        check_material_file("方案.docx", crowded)


def test_a_package_is_never_decompressed() -> None:
    """A ZIP bomb's member would expand to gigabytes; only the directory is read, so it is checked at once."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\x00" * (64 * 1024 * 1024))  # 64 MB that compress to 64 KB
    checked = check_material_file("方案.docx", buffer.getvalue())
    assert checked.size < 1024 * 1024


def test_the_accept_attribute_offers_exactly_the_accepted_extensions() -> None:
    assert ACCEPT_ATTRIBUTE == ".pdf,.jpg,.jpeg,.png,.ofd,.docx,.xlsx,.doc,.xls"
