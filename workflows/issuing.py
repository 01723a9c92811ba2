"""Issuing a document as an administrative act (DOMAIN.md "Who issues", "Legal force", "Remedies"): the authority's
issuer (an administrator's row, else its region's defaults: tasks/issuers.py), the document number from its
register, and the legal basis from the region's own rules only."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from adapters.outside.db import IssuerRow
from adapters.outside.repository import Repository
from tasks.articles import NATIONAL
from tasks.issuers import Issuer, default_issuer
from tasks.regions import RegionProfile

_NATIONAL_LAW = "《中华人民共和国"


def issuer_of(repo: Repository, authority: str) -> Issuer:
    """What is printed for `authority`: the administrator's settings, or its region's defaults."""
    return issuer_from(repo.issuer_row(authority), authority)


def issuer_from(row: IssuerRow | None, authority: str) -> Issuer:
    """The issuer an administrator's row gives, or without one the region's defaults."""
    if row is None:
        return default_issuer(authority)
    return Issuer(authority=authority, name=row.name, on_behalf_of=row.on_behalf_of, short_name=row.short_name,
                  number_format=row.number_format, seal_png=row.seal_png, configured=True)


def seal_url(issuer: Issuer) -> str | None:
    """The seal as a data: URL, embedded in the document so the stored HTML stands alone (and prints)."""
    return "data:image/png;base64," + base64.b64encode(issuer.seal_png).decode() if issuer.seal_png else None


@dataclass(frozen=True)
class Basis:
    """A document's legal basis: what it cites (the region's own rules, national standards and laws) and what was
    borrowed from elsewhere, kept as an internal 参照 note for the caseworker and never printed."""

    cited: list[str]
    references: list[str]


def served_basis(profile: RegionProfile, articles: list[str]) -> Basis:
    """Split a document's citations into its region's own and the borrowed ones; a document whose every citation
    was borrowed rests on its region's rules as a whole."""
    national = tuple(NATIONAL.values())
    cited: list[str] = []
    references: list[str] = []
    for article in dict.fromkeys(a for a in articles if a):
        own = article.startswith(profile.rules) or article in national or article.startswith(_NATIONAL_LAW)
        (cited if own else references).append(article)
    return Basis(cited or [profile.rules], references)
