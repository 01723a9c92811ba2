"""What a browser posts: the pairs of a rendered form (`browser_post`), and of the intake form filled in with an
application (`flattened`), written out independently of the code under test."""

from __future__ import annotations

from typing import Any

from lxml import html as lxml_html

from adapters.entrypoints.web.forms.application import RECEIVED_AT_FIELD


def browser_post(page: str, form_xpath: str | None = None) -> list[tuple[str, str]]:
    """The pairs a browser submits for the form in ``page`` (the first form matching ``form_xpath``, else the whole
    page): successful controls, in document order."""
    pairs: list[tuple[str, str]] = []
    root = lxml_html.fromstring(page)
    scope = root.xpath(form_xpath)[0] if form_xpath else root
    for element in scope.iter("input", "select", "textarea"):
        name = element.get("name")
        if not name or element.get("disabled") is not None:
            continue
        if element.tag == "textarea":
            pairs.append((name, element.text or ""))
        elif element.tag == "select":
            options = element.findall("option")
            chosen = next((o for o in options if o.get("selected") is not None), options[0] if options else None)
            if chosen is not None:
                pairs.append((name, chosen.get("value", chosen.text or "")))
        elif element.get("type") in ("checkbox", "radio"):
            if element.get("checked") is not None:
                pairs.append((name, element.get("value", "on")))
        elif element.get("type") not in ("submit", "button", "reset", "file"):
            pairs.append((name, element.get("value", "")))
    return pairs


def flattened(application: dict[str, Any], *, blank_rows: bool = True) -> list[tuple[str, str]]:
    """The pairs a browser posts for ``application``, written out independently of the module under test: fields
    in page order, one pair per checked level, and (``blank_rows``) the spare blank rows the form always shows."""
    pairs: list[tuple[str, str]] = [("csrf_token", "t0k"), (RECEIVED_AT_FIELD, "2026-10-15")]
    pairs += [(f"institution[{key}]", value) for key, value in application["institution"].items()]
    pairs += [("region", application["region"]), ("authority_level", application["authority_level"]),
              ("parent_filing_number", application.get("parent_filing_number", ""))]
    occupations = application["occupations"]
    for i, occupation in enumerate(occupations):
        pairs += [(f"occupations[{i}][code]", occupation["code"]), (f"occupations[{i}][name]", occupation["name"])]
        pairs += [(f"occupations[{i}][levels]", str(level)) for level in occupation["levels"]]
        pairs += [(f"occupations[{i}][{key}]", occupation.get(key, ""))
                  for key in ("basis", "standard_name", "question_bank")]
    if blank_rows:  # an untouched item: its radio group posts "不选择" (an empty value), its checkboxes nothing
        n = len(occupations)
        pairs += [(f"occupations[{n}][code]", ""), (f"occupations[{n}][name]", ""), (f"occupations[{n}][basis]", ""),
                  (f"occupations[{n}][standard_name]", ""), (f"occupations[{n}][question_bank]", "")]
    for group, columns in (("assessors", ("name", "occupation", "id_number", "organization", "title", "education")),
                           ("quality_supervisors", ("name", "id_number", "organization", "title", "education")),
                           ("experts", ("name", "id_number", "organization", "title", "education", "specialty"))):
        rows = application.get(group, [])
        for i, row in enumerate(rows):
            pairs += [(f"{group}[{i}][{column}]", row.get(column, "")) for column in columns]
        if blank_rows:
            pairs += [(f"{group}[{len(rows)}][{column}]", "") for column in columns]
    sites = application.get("sites", [])
    for i, site in enumerate(sites):
        pairs += [(f"sites[{i}][name]", site["name"]), (f"sites[{i}][address]", site["address"]),
                  (f"sites[{i}][area_m2]", str(site.get("area_m2", ""))),
                  (f"sites[{i}][ownership]", site.get("ownership", ""))]
        for k, item in enumerate(site.get("equipment", [])):
            pairs += [(f"sites[{i}][equipment][{k}][{column}]", str(item.get(column, "")))
                      for column in ("name", "brand", "model", "quantity", "owner")]
        if blank_rows:
            k = len(site.get("equipment", []))
            pairs += [(f"sites[{i}][equipment][{k}][{column}]", "")
                      for column in ("name", "brand", "model", "quantity", "owner")]
    for i, material in enumerate(application.get("materials", [])):
        pairs += [(f"materials[{i}][{key}]", material.get(key, "")) for key in ("kind", "title", "reference")]
    return pairs
