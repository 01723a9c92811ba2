"""Official documents as PDF: the stored HTML printed on A4 by WeasyPrint with the Noto CJK fonts.

The HTML of a document is kept exactly as issued (table `documents`); the print layout (page numbers, page
breaks, exact font names) is added here by `templates/print.css`, so documents issued before this
module existed print the same way as new ones.

A PDF with a missing font does not fail by itself: it prints boxes (tofu) or another font. This module refuses
both, loudly and in Chinese: before rendering, fontconfig must resolve both Noto CJK SC families to the real
fonts; after rendering, no character may have been drawn without a glyph and the body must really be in
Noto Serif CJK SC.

System packages (Debian 12): fonts-noto-cjk (the fonts), libpango-1.0-0 and libpangoft2-1.0-0 (text layout),
libharfbuzz-subset0 (font subsetting; WeasyPrint warns that it will require it).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from adapters.outside.documents import TEMPLATE_DIR
from tasks.errors import BeianError

PRINT_CSS = TEMPLATE_DIR / "print.css"
# The families print.css names. Serif (宋体-like) for the notice itself, sans (黑体-like) for table captions.
SERIF = "Noto Serif CJK SC"
SANS = "Noto Sans CJK SC"
REQUIRED_FAMILIES: tuple[str, ...] = (SERIF, SANS)
FONT_PACKAGE = "fonts-noto-cjk"
SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk"

# Characters that are not in the file name of a download on any common system.
_UNSAFE_IN_FILE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


class PdfError(BeianError):
    """A PDF could not be produced as it must look: the message says what to install or fix."""

    exit_code = 9


class FontMissing(PdfError):
    """A required CJK font is not installed (or fontconfig resolves its name to another font)."""


class GlyphMissing(PdfError):
    """Some characters of the document have no glyph in any installed font: they would print as boxes."""


# --- fonts ----------------------------------------------------------------------------------------------


class _Fontconfig:
    """The few calls of libfontconfig needed to ask "which font file would this family name give?".

    The same library that Pango (and so WeasyPrint) asks, through ctypes, so the check costs no WeasyPrint
    import and no `fc-match` binary.
    """

    FC_MATCH_PATTERN = 0
    FC_RESULT_MATCH = 0

    def __init__(self) -> None:
        name = ctypes.util.find_library("fontconfig") or "libfontconfig.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            raise FontMissing(
                f"无法生成 PDF：未找到字体配置库 fontconfig（{name}）。请安装：apt-get install {SYSTEM_PACKAGES}"
            ) from None
        p = ctypes.c_void_p
        lib.FcInitLoadConfigAndFonts.restype = p
        lib.FcInitLoadConfigAndFonts.argtypes = []
        lib.FcConfigDestroy.argtypes = [p]
        lib.FcPatternCreate.restype = p
        lib.FcPatternCreate.argtypes = []
        lib.FcPatternDestroy.argtypes = [p]
        lib.FcPatternAddString.argtypes = [p, ctypes.c_char_p, ctypes.c_char_p]
        lib.FcConfigSubstitute.argtypes = [p, p, ctypes.c_int]
        lib.FcDefaultSubstitute.argtypes = [p]
        lib.FcFontMatch.restype = p
        lib.FcFontMatch.argtypes = [p, p, ctypes.POINTER(ctypes.c_int)]
        lib.FcPatternGetString.restype = ctypes.c_int
        lib.FcPatternGetString.argtypes = [p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
        self.lib = lib

    def _strings(self, pattern: int, key: bytes) -> list[str]:
        values: list[str] = []
        value = ctypes.c_char_p()
        while self.lib.FcPatternGetString(pattern, key, len(values), ctypes.byref(value)) == self.FC_RESULT_MATCH:
            values.append((value.value or b"").decode("utf-8", "replace"))
        return values

    def match(self, family: str) -> tuple[list[str], str | None]:
        """The families and the file of the font fontconfig gives for `family` (what Pango would draw with)."""
        lib = self.lib
        # A fresh configuration each time: fonts installed while the process runs are seen.
        config = lib.FcInitLoadConfigAndFonts()
        pattern = lib.FcPatternCreate()
        try:
            lib.FcPatternAddString(pattern, b"family", family.encode())
            lib.FcConfigSubstitute(config, pattern, self.FC_MATCH_PATTERN)
            lib.FcDefaultSubstitute(pattern)
            result = ctypes.c_int()
            matched = lib.FcFontMatch(config, pattern, ctypes.byref(result))
            if not matched:
                return [], None
            try:
                files = self._strings(matched, b"file")
                return self._strings(matched, b"family"), (files[0] if files else None)
            finally:
                lib.FcPatternDestroy(matched)
        finally:
            lib.FcPatternDestroy(pattern)
            lib.FcConfigDestroy(config)


@cache
def _fontconfig() -> _Fontconfig:
    return _Fontconfig()


_checked_fonts: dict[str, str] = {}
_checked_lock = threading.Lock()


def check_cjk_fonts() -> dict[str, str]:
    """Each required family with the font file fontconfig resolves it to; raises FontMissing otherwise.

    Only success is remembered, so installing the fonts fixes a running server without a restart.
    """
    with _checked_lock:
        if _checked_fonts:
            return dict(_checked_fonts)
        found: dict[str, str] = {}
        for family in REQUIRED_FAMILIES:
            families, file = _fontconfig().match(family)
            if family.casefold() not in {name.casefold() for name in families} or not file:
                given = "、".join(families) if families else "无"
                raise FontMissing(
                    f"无法生成 PDF：未安装中文字体“{family}”（系统给出的替代字体：{given}），"
                    f"打印出来会是方框或别的字体。请安装 Debian 软件包 {FONT_PACKAGE}："
                    f"apt-get install {FONT_PACKAGE}"
                )
            found[family] = file
        _checked_fonts.update(found)
        return dict(found)


# --- WeasyPrint -------------------------------------------------------------------------------------------


@cache
def _weasyprint() -> ModuleType:
    """Imported on first use: it costs about half a second, which the CLI and the web app need not pay up front."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        # OSError: WeasyPrint is installed but Pango or fontconfig is not.
        raise PdfError(
            f"无法生成 PDF：WeasyPrint 或其依赖的系统库不可用（{exc}）。"
            f"请安装 Python 包 weasyprint 及 Debian 软件包：apt-get install {SYSTEM_PACKAGES}"
        ) from None
    return weasyprint


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parts.path)).resolve()


@cache
def _fetcher_class() -> type:
    urls = _weasyprint().urls

    class LocalOnlyFetcher(urls.URLFetcher):  # type: ignore[name-defined,misc]
        """Fetches `data:` URLs and files under the given folders, nothing else: rendering a document must not
        reach the network or read arbitrary files, and a resource that cannot be had stops the rendering instead
        of leaving a hole in the notice."""

        def __init__(self, roots: tuple[Path, ...]) -> None:
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, fail_on_errors=True)
            self._roots = roots

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.lower().startswith("file:"):
                path = _local_path(url)
                if path is None or not any(path.is_relative_to(root) for root in self._roots):
                    raise ValueError(f"不允许读取该文件：{url}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher


def _roots(base_url: str | None) -> tuple[Path, ...]:
    roots = [TEMPLATE_DIR.resolve()]
    if base_url:
        base = _local_path(base_url)
        if base is not None:
            roots.append(base if base_url.endswith("/") else base.parent)
    return tuple(roots)


def _check_rendered_fonts(fonts: Mapping[Any, Any]) -> None:
    missing: dict[int, None] = {}
    for font in fonts.values():
        missing.update(dict.fromkeys(getattr(font, "missing", {}) or {}))
    if missing:
        listed = "、".join(f"“{chr(code)}”（U+{code:04X}）" for code in sorted(missing))
        raise GlyphMissing(
            f"无法生成 PDF：文书中有已安装字体都无法显示的字符 {listed}，打印出来会是方框。"
            "请核对该文字（可能是生僻字或特殊符号），或安装包含该字符的字体。"
        )
    used = {str(getattr(font, "family", "")) for font in fonts.values()}
    if SERIF not in used:
        raise FontMissing(
            f"无法生成 PDF：正文没有使用字体“{SERIF}”（实际使用：{'、'.join(sorted(used)) or '无'}）。"
            f"请安装 Debian 软件包 {FONT_PACKAGE}：apt-get install {FONT_PACKAGE}"
        )


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """An A4 PDF of an official document's HTML, with print.css applied and the fonts embedded (subset).

    `base_url` resolves relative links; only files under it (if it is a local folder) and under the document
    templates folder may be read. Raises FontMissing, GlyphMissing or PdfError with a message in Chinese.
    """
    check_cjk_fonts()
    weasyprint = _weasyprint()
    fetcher = _fetcher_class()(_roots(base_url))
    try:
        stylesheet = weasyprint.CSS(filename=str(PRINT_CSS), url_fetcher=fetcher)
        document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher, media_type="print").render(
            stylesheets=[stylesheet]
        )
        # Tagged PDF: reading order and structure for screen readers, at no measurable cost.
        pdf: bytes = document.write_pdf(pdf_tags=True)
    except weasyprint.urls.FatalURLFetchingError as exc:  # a BaseException: catch it by name
        reason = exc.__cause__ or exc
        raise PdfError(f"无法生成 PDF：文书引用的资源无法读取或不允许读取（{reason}）") from None
    _check_rendered_fonts(document.fonts)
    return pdf


# --- documents --------------------------------------------------------------------------------------------


def pdf_file_name(document: Mapping[str, Any]) -> str:
    """`案件编号_文书编号_标题.pdf`: sorts with the case, unique per document, readable in a download folder."""
    stem = f"{document['case']}_{document['id']}_{document['title']}"
    return _UNSAFE_IN_FILE_NAME.sub("_", stem).strip(" .")[:150] + ".pdf"
