"""Supplementation for real, in the browser: the acceptance form names the missing items from the case's own
checklist; the notice lists them by the region's names; the intake clerk registers the resubmission with corrected
fields and files; the caseworker deciding again sees what changed, side by side. What cannot be taken keeps nothing."""

from __future__ import annotations

import re

from tests.support.material_files import PDF, PNG
from tests.support.web import post_application_with_files
from tests.web.conftest import Site, csrf
from workflows import clock


def _ask_for_supplement(site: Site) -> None:
    client = site.client("li.na")
    task = site.open_task("acceptance")
    client.post(f"/tasks/{task['id']}/claim", data={"csrf_token": csrf(client.get("/tasks").text)})
    page = client.get(f"/tasks/{task['id']}").text
    boxes = re.findall(r'<input type="checkbox" id="[^"]+" name="missing_items" value="([a-z_]+)"', page)
    # The case's own checklist (Sichuan 五, an employer), not every region's items.
    assert "work_plan" in boxes and "legal_person_certificate" in boxes and "district_hr_consent" not in boxes
    assert "职业技能等级认定试点工作方案" in page  # named as Sichuan's text names it
    done = client.post(f"/tasks/{task['id']}", data={
        "csrf_token": csrf(page), "decision": "supplement",
        "missing_items": ["legal_person_certificate", "work_plan"],
        "reasons": "营业执照复印件不清晰；方案缺考评人员安排"})
    assert done.status_code == 303, done.text[-2000:]


def _today() -> str:
    return clock.today_in_shanghai().isoformat()


def test_the_notice_lists_the_items_by_name_and_the_case_waits_for_them(site: Site) -> None:
    _ask_for_supplement(site)
    (notice,) = [d for d in site.service.records.show(site.case)["documents"] if "补正" in d["title"]]
    html = site.service.records.document(notice["id"])["html"]
    assert "法人登记证书复印件" in html and "职业技能等级认定试点工作方案" in html
    assert "说明：营业执照复印件不清晰" in html
    page = site.client("li.na").get(f"/cases/{site.case}").text
    assert "等待补正" in page and f'href="/cases/{site.case}/resubmission"' in page
    assert f'href="/cases/{site.case}/resubmission"' not in site.client("zhao.lei").get(f"/cases/{site.case}").text


def test_the_resubmission_with_corrected_fields_and_files_is_shown_side_by_side(site: Site) -> None:
    _ask_for_supplement(site)
    client = site.client("li.na")
    form = client.get(f"/cases/{site.case}/resubmission")
    assert form.status_code == 200 and "登记补正材料" in form.text
    assert 'value="成都锦城精工机械制造有限公司"' in form.text  # filled with the application as it stands
    assert re.search(r'name="material_files\[0\]\[item\]">.*?<option value="legal_person_certificate" selected>',
                     form.text, re.S)
    sent = post_application_with_files(
        client, csrf(form.text),
        [("legal_person_certificate", "营业执照.png", PNG), ("work_plan", "方案（修订）.pdf", PDF)],
        url=f"/cases/{site.case}/resubmission", extra=(("note", "已补交清晰的营业执照"),),
        received_at=_today(), **{"institution[phone]": "028-87654321"})
    assert sent.status_code == 303, sent.text[-3000:]
    page = client.get(f"/cases/{site.case}").text
    changes = page.split('<section class="changes" id="changes">')[1].split("</section>")[0]
    assert "联系电话" in changes and "<del>(028)86112339</del>" in changes and "<ins>028-87654321</ins>" in changes
    assert "营业执照.png" in changes and "方案（修订）.pdf" in changes and "已补交清晰的营业执照" in changes
    assert "等待补正" not in page
    acceptance = site.open_task("acceptance")  # decided again, on what changed
    task_page = client.get(f"/tasks/{acceptance['id']}").text
    assert "与上次提交相比" in task_page and "<ins>028-87654321</ins>" in task_page
    assert site.service.records.show(site.case)["application"]["institution"]["phone"] == "028-87654321"


def test_a_resubmission_that_cannot_be_taken_keeps_nothing(site: Site) -> None:
    _ask_for_supplement(site)
    client = site.client("li.na")
    token = csrf(client.get(f"/cases/{site.case}/resubmission").text)
    moved = post_application_with_files(client, token, [("work_plan", "方案.pdf", PDF)],
                                        url=f"/cases/{site.case}/resubmission", received_at=_today(),
                                        **{"institution[credit_code]": "91510100MA6123454N"})  # valid
    assert moved.status_code == 422 and "补正不能改变统一社会信用代码" in moved.text
    assert "请重新选择文件" in moved.text
    assert all(not m["versions"] for m in site.service.materials.of_case(site.case))
    assert site.service.supplements.requested(site.case)["waiting"]
    assert site.service.supplements.latest_changes(site.case) is None
    nothing = post_application_with_files(client, token, [], url=f"/cases/{site.case}/resubmission",
                                          received_at=_today())
    assert nothing.status_code == 422 and "补正没有任何内容" in nothing.text


def test_no_resubmission_form_while_the_case_does_not_wait_for_one(site: Site) -> None:
    page = site.client("li.na").get(f"/cases/{site.case}/resubmission")
    assert page.status_code == 409 and "不在等待补正材料" in page.text


def test_another_citys_clerk_or_another_role_cannot_register_a_resubmission(site: Site) -> None:
    _ask_for_supplement(site)
    assert site.client("wang.fang").get(f"/cases/{site.case}/resubmission").status_code == 403  # Mianyang
    expert = site.client("zhao.lei")
    assert expert.get(f"/cases/{site.case}/resubmission").status_code == 403
    sent = post_application_with_files(expert, csrf(expert.get("/tasks").text), [("work_plan", "方案.pdf", PDF)],
                                       url=f"/cases/{site.case}/resubmission", received_at=_today())
    assert sent.status_code == 403 and "受理本案的受理人员" in sent.text
    assert site.service.supplements.requested(site.case)["waiting"]
    assert all(not m["versions"] for m in site.service.materials.of_case(site.case))
