"""Who acts in the institution portal, as every layer sees it: the account (one institution's person), how the
history and the sessions name it (``portal:<username>``, a name no caseworker account can hold), and a contact as
pages and the history may show it. The accounts themselves are kept by workflows/institutions.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

PORTAL: Final = "portal:"  # before a portal username wherever caseworkers' names are kept too (sessions, attempts)
PHONE: Final = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True)
class InstitutionUser:
    username: str
    display_name: str
    credit_code: str
    institution_name: str
    contact: str
    is_admin: bool
    active: bool

    @property
    def actor(self) -> str:
        """How the history records what this person did (shown as 机构（用户名）)."""
        return PORTAL + self.username

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name, "credit_code": self.credit_code,
                "institution_name": self.institution_name, "contact": mask(self.contact), "is_admin": self.is_admin,
                "active": self.active}


def mask(contact: str) -> str:
    """A contact as a page or the history may show it: 138****5678, z***@example.cn."""
    if PHONE.fullmatch(contact):
        return f"{contact[:3]}****{contact[-4:]}"
    name, _, domain = contact.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"
