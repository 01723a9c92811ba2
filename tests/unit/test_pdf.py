"""Official documents as PDF: real Chinese text in the embedded Noto CJK fonts, A4, laid out like a notice.

The PDFs are read back with poppler-utils (Debian `poppler-utils`: pdftotext, pdffonts, pdfinfo), the tools a
person would use, so a PDF that only looks right to WeasyPrint does not pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.outside import pdf as pdf_module
from adapters.outside.documents import TITLES, render_document
from adapters.outside.pdf import (
    REQUIRED_FAMILIES,
    FontMissing,
    GlyphMissing,
    PdfError,
    check_cjk_fonts,
    html_to_pdf,
    pdf_file_name,
)
from tasks.errors import NotFound
from tests.conftest import EXAMPLE_APPLICATION, ROOT
from tests.conftest import Beian as Cli
from tests.support import filing_documents, lifecycle_documents

A4 = (595.28, 841.89)  # points
MM = 72 / 25.4
# print.css / base.html: margins 37 26 35 28 mm, body 16pt.
LEFT, RIGHT = 28 * MM, 26 * MM
BODY_PT = 16.0
TYPE_AREA_CENTRE = LEFT + (A4[0] - LEFT - RIGHT) / 2

CONTEXTS: dict[str, dict[str, Any]] = {**filing_documents.CONTEXTS, **lifecycle_documents.CONTEXTS}


def run(*argv: str, data: bytes) -> str:
    result = subprocess.run(argv, input=data, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def text_of(pdf: bytes) -> str:
    """The text layer with all white space removed (pdftotext spaces CJK lines as it sees fit)."""
    return re.sub(r"\s+", "", run("pdftotext", "-enc", "UTF-8", "-", "-", data=pdf))


def fonts_of(pdf: bytes) -> list[dict[str, str]]:
    lines = run("pdffonts", "-", data=pdf).splitlines()[2:]
    fonts = []
    for line in lines:
        # name type… encoding emb sub uni object-id gen; the type has spaces, so read from both ends.
        fields = line.split()
        fonts.append({"name": fields[0], "emb": fields[-5], "sub": fields[-4], "uni": fields[-3]})
    return fonts


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    info = run("pdfinfo", "-f", "1", "-l", "999", "-", data=pdf)
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)]


@dataclass(frozen=True)
class Line:
    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def lines_of(pdf: bytes) -> list[Line]:
    """Every printed line with its box, from pdftotext's bounding-box output."""
    xhtml = run("pdftotext", "-bbox-layout", "-enc", "UTF-8", "-", "-", data=pdf)
    lines: list[Line] = []
    for page, body in enumerate(re.split(r"<page ", xhtml)[1:], start=1):
        for box, inner in re.findall(r"<line ([^>]*)>(.*?)</line>", body, re.S):
            coords = dict(re.findall(r'(\w+)="([\d.]+)"', box))
            words = "".join(re.findall(r"<word[^>]*>([^<]*)</word>", inner))
            lines.append(Line(page, words, float(coords["xMin"]), float(coords["yMin"]), float(coords["xMax"]),
                              float(coords["yMax"])))
    return lines


def the_line(lines: list[Line], text: str, nth: int = 0) -> Line:
    """The nth line (in reading order; -1 for the last) that reads exactly `text`."""
    found = [line for line in lines if line.text == text]
    assert found, f"no line reads {text!r}: {[line.text for line in lines]}"
    return found[nth]


@pytest.fixture(scope="module")
def receipt() -> tuple[dict[str, Any], bytes]:
    context = filing_documents.context("filing_receipt")
    return context, html_to_pdf(render_document("filing_receipt", context).html)


# --- the receipt, read back ----------------------------------------------------------------------------


def test_receipt_is_an_a4_pdf_with_the_chinese_text_as_text(receipt: tuple[dict[str, Any], bytes]) -> None:
    context, pdf = receipt
    assert pdf.startswith(b"%PDF-")
    sizes = page_sizes(pdf)
    assert len(sizes) == 2
    for width, height in sizes:
        assert width == pytest.approx(A4[0], abs=0.1) and height == pytest.approx(A4[1], abs=0.1)

    words = text_of(pdf)
    for expected in (
        "职业技能等级评价机构备案回执",
        "川评备〔2026〕0001号",
        "四川蜀能电力检修有限公司：",
        "四川省人力资源和社会保障厅",
        "2026年11月3日",
        "备案有效期2026年11月3日至2029年11月2日",
        "五级/初级工、四级/中级工、三级/高级工",
        "案件编号：BA-2026-000123",
        "第1页共2页",
        "第2页共2页",
    ):
        assert expected in words, expected
    assert context["authority_name"] == "四川省人力资源和社会保障厅"


def test_receipt_embeds_only_the_noto_cjk_fonts(receipt: tuple[dict[str, Any], bytes]) -> None:
    fonts = fonts_of(receipt[1])
    names = {re.sub(r"^[A-Z]{6}\+", "", font["name"]) for font in fonts}
    # Serif (宋体-like) regular for the text, bold for masthead and title; sans bold (黑体-like) for captions.
    assert names == {"Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold", "Noto-Sans-CJK-SC-Bold"}
    for font in fonts:
        # Embedded, subset, with a Unicode map: the text can be searched and copied, and prints anywhere.
        assert (font["emb"], font["sub"], font["uni"]) == ("yes", "yes", "yes"), font


def test_receipt_is_laid_out_like_an_official_notice(receipt: tuple[dict[str, Any], bytes]) -> None:
    lines = lines_of(receipt[1])
    first = [line for line in lines if line.page == 1]
    issuer = the_line(first, "四川省人力资源和社会保障厅")
    number = the_line(first, "川技鉴备〔2026〕1号")
    title = the_line(first, "职业技能等级评价机构备案回执")
    addressee = the_line(first, "四川蜀能电力检修有限公司：")
    body = next(line for line in first if line.text.startswith("你单位报送的"))

    # Top to bottom: issuing authority, document number, title, addressee, body.
    assert issuer.y0 < number.y0 < title.y0 < addressee.y0 < body.y0
    # Masthead, number and title centred on the type area; the title larger than the body text.
    # (The masthead's letter-spacing also follows its last character, which moves its ink 1 pt left: 0.4 mm.)
    for line in (issuer, number, title):
        assert line.centre == pytest.approx(TYPE_AREA_CENTRE, abs=1.5), line
    assert title.height > 1.3 * addressee.height
    # Addressee flush left; a paragraph's first line indented by two characters, the next one not.
    assert addressee.x0 == pytest.approx(LEFT, abs=0.5)
    assert body.x0 == pytest.approx(LEFT + 2 * BODY_PT, abs=0.5)
    assert first[first.index(body) + 1].x0 == pytest.approx(LEFT, abs=0.5)

    # The end: authority and date right-aligned together (four characters in from the right edge).
    last = [line for line in lines if line.page == 2]
    authority = the_line(last, "四川省人力资源和社会保障厅", -1)
    date = the_line(last, "2026年11月3日", -1)
    assert authority.y0 < date.y0
    assert authority.x1 == pytest.approx(date.x1, abs=0.5)
    assert date.x1 == pytest.approx(A4[0] - RIGHT - 4 * BODY_PT, abs=1.0)

    # Page numbers centred in the bottom margin, under the type area.
    for page, total in ((1, 2), (2, 2)):
        footer = the_line([line for line in lines if line.page == page], f"第{page}页共{total}页")
        assert footer.y0 > A4[1] - 35 * MM
        assert footer.centre == pytest.approx(TYPE_AREA_CENTRE, abs=1.0)


def test_same_document_gives_the_same_bytes(receipt: tuple[dict[str, Any], bytes]) -> None:
    context, pdf = receipt
    # No timestamp or random identifier: a PDF can be compared or hashed against the one sent before.
    assert html_to_pdf(render_document("filing_receipt", context).html) == pdf


# --- every kind ----------------------------------------------------------------------------------------


def test_every_kind_prints_its_title_authority_and_date() -> None:
    assert set(CONTEXTS) == set(TITLES)
    for kind, context in CONTEXTS.items():
        document = render_document(kind, context)
        words = text_of(html_to_pdf(document.html))
        # The announcement's printed heading names the institution; the others print their kind's title.
        heading = re.search(r'<h1 class="title">(.*?)</h1>', document.html, re.S)
        assert heading is not None
        assert re.sub(r"\s+", "", heading.group(1)) in words, kind
        if document.number:
            assert document.number in words, kind
        assert context["authority_name"] in words, kind
        date = re.search(r'<p class="signature-date">(\d{4}年\d{1,2}月\d{1,2}日)</p>', document.html)
        assert date is not None and date.group(1) in words, kind
        assert "第1页共" in words, kind


# --- failing loudly ------------------------------------------------------------------------------------


def test_the_required_fonts_are_installed_and_named_exactly() -> None:
    found = check_cjk_fonts()
    assert set(found) == set(REQUIRED_FAMILIES) == {"Noto Serif CJK SC", "Noto Sans CJK SC"}
    for file in found.values():
        assert Path(file).is_file()


def test_a_font_name_fontconfig_cannot_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a machine without fonts-noto-cjk sees: fontconfig answers with some other family.
    monkeypatch.setattr(pdf_module, "REQUIRED_FAMILIES", ("Noto Serif CJK SC", "Noto Serif CJK XX"))
    monkeypatch.setattr(pdf_module, "_checked_fonts", {})
    with pytest.raises(FontMissing, match=r"未安装中文字体“Noto Serif CJK XX”.*apt-get install fonts-noto-cjk"):
        html_to_pdf("<p>测试</p>")


def test_a_machine_without_the_cjk_fonts_gets_a_clear_error(tmp_path: Path) -> None:
    """A real fontconfig that sees only DejaVu (no CJK font at all), in a fresh process."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(textwrap.dedent(f"""\
        <?xml version="1.0"?>
        <!DOCTYPE fontconfig SYSTEM "fonts.dtd">
        <fontconfig>
          <dir>{tmp_path / "no-fonts-here"}</dir>
          <cachedir>{tmp_path / "cache"}</cachedir>
        </fontconfig>
        """), encoding="utf-8")
    script = "from adapters.outside.pdf import html_to_pdf; html_to_pdf('<p>职业技能等级评价机构备案回执</p>')"
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "FontMissing: 无法生成 PDF：未安装中文字体“Noto Serif CJK SC”" in result.stderr
    assert "apt-get install fonts-noto-cjk" in result.stderr


@pytest.mark.parametrize("character", ["\ue000", "\U00020000"], ids=["private-use", "ext-b-not-in-noto"])
def test_a_character_without_a_glyph_is_refused_not_printed_as_a_box(character: str) -> None:
    context = filing_documents.context("rejection_notice")
    context["institution"]["name"] = f"成都{character}精工机械制造有限公司"
    html = render_document("rejection_notice", context).html
    with pytest.raises(GlyphMissing, match=rf"U\+{ord(character):04X}"):
        html_to_pdf(html)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/seal.png", "file:///etc/passwd", "ftp://127.0.0.1/seal.png"]
)
def test_resources_outside_the_templates_are_not_fetched(url: str) -> None:
    with pytest.raises(PdfError, match="文书引用的资源无法读取或不允许读取"):
        html_to_pdf(f'<p>印章</p><img src="{url}">')


def test_a_data_url_image_is_allowed() -> None:
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    assert html_to_pdf(f'<p>印章</p><img src="data:image/png;base64,{png}">').startswith(b"%PDF-")


# --- through the service ------------------------------------------------------------------------------


@pytest.fixture
def rejected(tmp_path: Path) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A real case on SQLite whose application was rejected at acceptance: it has a 不予受理通知书."""
    from workflows.service import Beian

    cli = Cli(tmp_path / "beian.sqlite3")
    cli("init")
    application = tmp_path / "application.json"
    application.write_text(EXAMPLE_APPLICATION.read_text(encoding="utf-8"), encoding="utf-8")
    received = "2026-09-24T10:00:00+08:00"
    case = cli.json("apply", str(application), "--received-at", received, now=received)["case"]
    [task] = [t for t in cli.json("tasks", "--case", case, now=received) if t["bpmn_id"] == "acceptance"]
    cli.json("complete", task["id"], "--data", json.dumps({"decision": "reject", "reasons": "不属于本级受理范围"}),
             now="2026-09-25T10:00:00+08:00")
    [document] = cli.json("show", case)["documents"]
    app = Beian(cli.url)
    try:
        yield app, document
    finally:
        app.close()


def test_document_pdf_of_an_issued_document(rejected: tuple[Any, dict[str, Any]]) -> None:
    app, listed = rejected
    name, pdf = app.records.pdf(listed["id"])
    stored = app.records.document(listed["id"])
    assert name == f"{listed['case']}_{listed['id']}_不予受理通知书.pdf"
    words = text_of(pdf)
    authority = re.search(r'<p class="signature-authority">(.*?)</p>', stored["html"])
    assert authority is not None and authority.group(1) == "成都市职业技能鉴定指导中心"
    assert "（受成都市人力资源和社会保障局委托）" in words
    assert "成都技鉴不受〔2026〕1号" in words
    for expected in ("不予受理通知书", "成都锦城精工机械制造有限公司：", "不属于本级受理范围", authority.group(1),
                     "2026年9月25日", f"案件编号：{listed['case']}"):
        assert expected in words, expected
    assert all(size == pytest.approx(A4, abs=0.1) for size in page_sizes(pdf))


def test_document_pdf_of_an_unknown_document(rejected: tuple[Any, dict[str, Any]]) -> None:
    app, _ = rejected
    with pytest.raises(NotFound, match="文书 999999 不存在"):
        app.records.pdf(999999)


def test_file_names_are_safe_on_every_system() -> None:
    name = pdf_file_name({"id": 7, "case": "BA-2026-000123", "title": '关于终止"A/B:公司"备案的公告'})
    assert name == "BA-2026-000123_7_关于终止_A_B_公司_备案的公告.pdf"
