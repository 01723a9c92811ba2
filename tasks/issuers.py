"""Who issues and signs a document, and its document number (文号): DOMAIN.md "Who issues" and "Remedies".

Every document is the act of one authority (a 6-digit code, tasks/access.py). What is printed for that authority is
an *issuer*: the body that issues and signs (发文机关), the authority it acts for when it is not the authority itself
(Sichuan 附件3 一.4、二.5: the 职鉴中心 issues on behalf of the 人社部门), the short name (机关代字) its document
numbers start with, the format of those numbers, and its seal when one is configured.

An administrator keeps the issuers in the database (table `issuers`); an authority without a row is printed from its
region's defaults in `regions.toml` (`[profiles.<key>.issuers]`), with `{division}` standing for the city's or
district's name. A default whose division is not listed (a 师市 of the Corps) carries the code and is flagged, so
the administrator sets the real name before it is served.

Document numbers come from a register per issuing authority, year and kind: the format decides whether kinds share
one series (a format without `{kind}`) or each kind has its own. Either way distinct registers never give the same
number, because the format must hold `{year}` and `{seq}`, and kinds that share a series share one counter.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from tasks.divisions import division_name
from tasks.regions import PROVINCES, RegionProfile, profile_for_region
from tasks.text import text_problem

DEFAULT_NUMBER_FORMAT: Final = "{short}{kind}〔{year}〕{seq}号"
"""川技鉴受〔2026〕12号: the short name, the kind's word, the year in 六角括号, the number without leading zeros
(GB/T 9704-2012 7.2.2)."""

KIND_WORDS: Final = MappingProxyType({
    "filing_receipt": "备",
    "rejection_notice": "不受",
    "supplement_notice": "补",
    "not_filed_notice": "不备",
    "renewal_reminder": "续提",
    "renewal_notice": "续",
    "renewal_refusal": "续评",
    "change_decision": "变",
    "suspension_notice": "停",
    "suspension_lifted": "复评",
    "verification_opinion": "核",
    "intended_decision": "告",
    "review_decision": "复核",
    "termination_notice": "终",
    "termination_announcement": "公告",
    "warning_notice": "警",
    "interview_notice": "谈",
    "wrapup_notice": "收尾",
    "correct_now_notice": "即改",
    "certificate_revocation_notice": "撤证",
    "delisting_notice": "退录",
    "annual_report_request": "报",
    "correction_notice": "更",
})
"""The word of each document kind in its number (`{kind}`): short, distinct, and read as what the document is."""

_PLACEHOLDER = re.compile(r"\{([a-z]+)(?::(0[1-8]d))?\}")
_FIELDS: Final = frozenset({"short", "kind", "year", "seq"})
MAX_FORMAT: Final = 40
MAX_NAME: Final = 60
MAX_SHORT: Final = 12
MAX_SEAL_BYTES: Final = 512 * 1024
MAX_SEAL_SIDE: Final = 2000
"""A seal scanned at 600 dpi is about 1000 pixels across; more is a mistake (or an attempt to exhaust memory)."""
_PNG: Final = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Issuer:
    """What is printed for an authority: see the module's docstring."""

    authority: str
    name: str
    on_behalf_of: str | None
    short_name: str
    number_format: str
    seal_png: bytes | None = None
    configured: bool = False
    """False: taken from the region's defaults (no row an administrator saved)."""

    @property
    def needs_setting(self) -> bool:
        """A default that names the authority by its code: the administrator must set its real name."""
        return not self.configured and any(ch.isdigit() for ch in self.name + (self.on_behalf_of or ""))

    def number(self, kind: str, year: int, seq: int) -> str:
        return format_number(self.number_format, short=self.short_name, kind=KIND_WORDS[kind], year=year, seq=seq)

    def register(self, kind: str, year: int) -> str:
        """The name of the counter this issuer's number of `kind` in `year` comes from."""
        series = kind if "{kind}" in self.number_format else "*"
        return f"doc:{self.authority}:{year}:{series}"


def format_number(number_format: str, *, short: str, kind: str, year: int, seq: int) -> str:
    """The number from a checked format: only the four placeholders, `{seq}` optionally zero-padded (`{seq:03d}`).
    Written out by hand rather than with str.format, so no format an administrator saves can reach an attribute or
    allocate a million-character padding."""
    values = {"short": short, "kind": kind, "year": str(year)}

    def one(match: re.Match[str]) -> str:
        name, pad = match.group(1), match.group(2)
        if name == "seq":
            return str(seq).zfill(int(pad[1:-1])) if pad else str(seq)
        return values[name]

    return _PLACEHOLDER.sub(one, number_format)


def number_format_problem(number_format: str) -> str | None:
    """None when the format is usable, else what is wrong with it, in words an administrator understands."""
    if not number_format.strip():
        return "文号格式不能为空"
    if len(number_format) > MAX_FORMAT:
        return f"文号格式过长（{len(number_format)} 字），上限 {MAX_FORMAT} 字"
    if problem := text_problem(number_format):
        return f"文号格式{problem}"
    names = [m.group(1) for m in _PLACEHOLDER.finditer(number_format)]
    rest = _PLACEHOLDER.sub("", number_format)
    if "{" in rest or "}" in rest or any(name not in _FIELDS for name in names):
        return ("文号格式含无法识别的占位符：只能用 {short}（机关代字）、{kind}（文书类别字）、{year}（年度）、"
                "{seq}（序号，可写作 {seq:03d} 补足位数）")
    if any(m.group(2) for m in _PLACEHOLDER.finditer(number_format) if m.group(1) != "seq"):
        return "只有序号 {seq} 可以指定位数"
    if "year" not in names or "seq" not in names:
        return "文号格式须含 {year} 和 {seq}，否则不同年度或不同序号的文书会同号"
    if len(names) != len(set(names)):
        return "文号格式中同一占位符只能出现一次"
    return None


def seal_problem(png: bytes) -> str | None:
    """None for a PNG image of a sensible size, else what is wrong (a seal is printed on every document)."""
    if not png:
        return "印章图片为空"
    if len(png) > MAX_SEAL_BYTES:
        return f"印章图片过大（{len(png) // 1024} KB），上限 {MAX_SEAL_BYTES // 1024} KB"
    if not png.startswith(_PNG) or len(png) < 33 or png[12:16] != b"IHDR":
        return "印章图片须为 PNG 格式（透明背景的红色印章）"
    width, height = struct.unpack(">II", png[16:24])
    if not (0 < width <= MAX_SEAL_SIDE and 0 < height <= MAX_SEAL_SIDE):
        return f"印章图片尺寸 {width}×{height} 像素不合理，每边应在 1–{MAX_SEAL_SIDE} 像素之间"
    return None


def field_problems(name: str, on_behalf_of: str, short_name: str, number_format: str) -> list[str]:
    """Every problem of an issuer an administrator is about to save."""
    problems = []
    for label, value, required, limit in (("发文机关名称", name, True, MAX_NAME),
                                          ("委托机关名称", on_behalf_of, False, MAX_NAME),
                                          ("机关代字", short_name, True, MAX_SHORT)):
        if problem := text_problem(value, required=required):
            problems.append(f"{label}{problem}")
        elif len(value.strip()) > limit:
            problems.append(f"{label}过长（{len(value.strip())} 字），上限 {limit} 字")
    if on_behalf_of.strip() and on_behalf_of.strip() == name.strip():
        problems.append("委托机关不能是发文机关本身（本机关自行发文时委托机关留空）")
    if problem := number_format_problem(number_format):
        problems.append(problem)
    return problems


def _division(authority: str) -> tuple[str, str]:
    """The division's name and its two-character short form (成都市 → 成都); an unlisted one is named by its code."""
    name = division_name(authority)
    if name is None:
        return f"{PROVINCES.get(authority[:2], '')}{authority}", authority
    return name, name[:2]


def default_issuer(authority: str, profile: RegionProfile | None = None) -> Issuer:
    """The issuer of `authority` from its region's defaults (regions.toml), for an authority without a saved row."""
    profile = profile or profile_for_region(authority)
    level = "provincial" if authority.endswith("0000") else "municipal"
    template = profile.issuers[level]
    division, division_short = _division(authority) if level == "municipal" else (profile.name, profile.province_abbr)

    def filled(text: str | None) -> str | None:
        return text.format(division=division, division_short=division_short) if text else None

    return Issuer(authority=authority, name=filled(template["name"]) or profile.authority_name,
                  on_behalf_of=filled(template.get("on_behalf_of")), short_name=filled(template["short"]) or "",
                  number_format=DEFAULT_NUMBER_FORMAT)
