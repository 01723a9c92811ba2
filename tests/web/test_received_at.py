"""A paper application's 收件日期 later than today is refused next to that field, and nothing is registered; the
service refuses such a time of receipt for every caller (tests/integration/test_cli_as_typed.py)."""

from __future__ import annotations

from datetime import timedelta

from lxml import html

from tests.support.web import post_application
from tests.web.conftest import Site, csrf
from workflows import clock


def test_a_received_date_after_today_is_shown_next_to_its_field(site: Site) -> None:
    client = site.client("li.na")
    token = csrf(client.get("/applications/new").text)
    tomorrow = (clock.today_in_shanghai() + timedelta(days=1)).isoformat()
    refused = post_application(client, token, received_at=tomorrow)
    assert refused.status_code == 422
    page = html.fromstring(refused.text)
    [field] = page.xpath("//input[@name='received_at']")
    assert field.get("value") == tomorrow and field.get("aria-invalid") == "true"
    messages = [page.get_element_by_id(ident).text_content() for ident in field.get("aria-describedby").split()
                if "error" in ident]
    assert len(messages) == 1 and "收件日期不能是将来的日期" in messages[0]
    assert [t["case"] for t in site.service.cases.tasks()] == [site.case]
