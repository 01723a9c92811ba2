"""Region profiles: the per-region settings where the source texts differ (values in ``regions.toml``).

A profile is chosen by the first two digits of the filing's 6-digit administrative division code; a
province without a profile gets the default profile (Sichuan, whose text has the concrete timings).

``regions.toml`` is checked completely on load; every problem is reported at once in a
``RegionConfigError`` (Chinese, naming the region and field), because the file is edited by
administrators and a half-checked file would fail later, in the middle of a case.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

from tasks.regions.fields import month_day_in_year
from tasks.regions.model import (
    AUTHORITY_LEVELS,
    DEFAULT_LADDER,
    INSPECTION_METHODS,
    INSTITUTION_TYPES,
    MATERIAL_KEY,
    NUMBER_FIELDS,
    OTHER_MATERIAL,
    PROVINCES,
    SANCTION_MEASURES,
    MaterialItem,
    RegionConfigError,
    RegionProfile,
    is_known_province,
    province_of,
)
from tasks.regions.parsing import REQUIRED_DEFAULT_ARTICLES, parse_profiles, parse_toml, profiles_from_toml

__all__ = [
    "AUTHORITY_LEVELS", "DEFAULT_LADDER", "INSPECTION_METHODS", "INSTITUTION_TYPES", "MATERIAL_KEY", "NUMBER_FIELDS",
    "OTHER_MATERIAL", "PROVINCES", "SANCTION_MEASURES",
    "REQUIRED_DEFAULT_ARTICLES", "MaterialItem", "RegionConfigError", "RegionProfile", "default_profile",
    "is_known_province", "load_profiles", "month_day_in_year", "parse_profiles", "profile_by_key",
    "profile_for_region", "profiles_from_toml", "province_of",
]


def load_profiles() -> dict[str, RegionProfile]:
    """The profiles of the packaged ``regions.toml`` by key (read and checked once, then cached)."""
    return dict(_packaged()[0])


def default_profile() -> RegionProfile:
    profiles, default_key = _packaged()
    return profiles[default_key]


def profile_by_key(key: str) -> RegionProfile:
    profiles, _ = _packaged()
    try:
        return profiles[key]
    except KeyError:
        raise KeyError(f"没有地区配置“{key}”，已有：{'、'.join(profiles)}") from None


def profile_for_region(region_code: str) -> RegionProfile:
    """The profile for a 6-digit division code, by its province; the default profile if none matches."""
    province = province_of(region_code)
    profiles, default_key = _packaged()
    for profile in profiles.values():
        if profile.province_code == province:
            return profile
    return profiles[default_key]


@lru_cache(maxsize=1)
def _packaged() -> tuple[Mapping[str, RegionProfile], str]:
    text = resources.files("tasks").joinpath("regions.toml").read_text(encoding="utf-8")
    data = parse_toml(text)
    profiles = parse_profiles(data)
    return MappingProxyType(profiles), data["default"]

