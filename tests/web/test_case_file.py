"""The case page as a file (卷宗): the current steps with who holds them, the application laid out for reading, the
materials by checklist item with what is missing, uploads by the intake clerk (each a new version) and opening a
stored file safely; refused uploads say why in Chinese and store nothing."""

from __future__ import annotations

import re

from tests.support.material_files import PDF, PNG
from tests.support.scenarios import example_application
from tests.support.web import post_application_with_files
from tests.web.conftest import Site, csrf
from workflows.service.search import CaseQuery


def _section(html: str, section: str) -> str:
    found = re.search(rf'<section id="{section}" class="case-section">(.*?)</section>', html, re.S)
    assert found, f"no section {section}"
    return found.group(1)


def _upload(site: Site, username: str, item: str, name: str, content: bytes, media_type: str = "application/pdf"):
    client = site.client(username)
    token = csrf(client.get(f"/cases/{site.case}").text) if username != "wang.fang" else csrf(client.get("/tasks").text)
    return client.post(f"/cases/{site.case}/materials", data={"csrf_token": token, "item": item},
                       files={"file": (name, content, media_type)})


def test_the_current_step_panel_names_each_open_task_its_role_holder_and_deadline(site: Site) -> None:
    page = site.client("li.na").get(f"/cases/{site.case}").text
    current = _section(page, "current")
    assert "受理审查" in current and "受理人员" in current and "待认领" in current and "24时" in current
    task = site.open_task("acceptance")
    site.service.cases.claim(task["id"], "li.na")
    site.service.cases.complete(task["id"], {"decision": "accept"}, actor="li.na")
    expert = site.open_task("expert_review")
    site.service.cases.claim(expert["id"], "zhao.lei")
    current = _section(site.client("zhao.lei").get(f"/cases/{site.case}").text, "current")
    # The expert review has no statutory deadline: it is still shown, with who holds it.
    assert "专家评估" in current and "无法定期限" in current and "赵专家（zhao.lei）" in current


def test_the_application_is_laid_out_for_reading(site: Site) -> None:
    application = site.service.records.show(site.case)["application"]
    part = _section(site.client("li.na").get(f"/cases/{site.case}").text, "application")
    occupation = application["occupations"][0]
    assert application["institution"]["legal_representative"] in part
    # Caseworkers check the person by the number: the case file shows it in full, under its own label.
    assert "<dt>法定代表人身份证件号码</dt><dd>510104197203151232</dd>" in part
    assert "用人单位" in part or "社会培训评价组织" in part or "院校" in part  # the type by its title, not its code
    assert occupation["name"] in part and occupation["code"] in part and "四级/中级工" in part
    assert application["assessors"][0]["name"] in part and application["sites"][0]["address"] in part
    assert "<details" in part and "考评人员" in part and "认定场地" in part


def test_an_upload_is_listed_under_its_item_and_opens_as_stored(site: Site) -> None:
    uploaded = _upload(site, "li.na", "work_plan", "工作方案.pdf", PDF)
    assert uploaded.status_code == 303 and uploaded.headers["location"].endswith("#materials")
    again = _upload(site, "li.na", "work_plan", "工作方案（修订）.png", PNG, "image/png")
    assert again.status_code == 303
    client = site.client("zhao.lei")  # an expert of the city sees the case's materials too
    materials = _section(client.get(f"/cases/{site.case}").text, "materials")
    row = re.search(r'<tr[^>]*data-item="work_plan">(.*?)</tr>', materials, re.S)
    assert row and "第 1 版 工作方案.pdf" in row.group(1) and "第 2 版 工作方案（修订）.png" in row.group(1)
    assert "李受理（li.na）" in row.group(1)
    first, second = (int(i) for i in re.findall(r'href="/materials/(\d+)"', row.group(1))[::-1])
    opened = client.get(f"/materials/{first}")
    assert opened.status_code == 200 and opened.content == PDF
    assert opened.headers["content-type"] == "application/pdf"
    assert opened.headers["x-content-type-options"] == "nosniff"
    assert opened.headers["content-security-policy"].startswith("default-src 'none'")
    assert opened.headers["content-disposition"].startswith("inline;")
    image = client.get(f"/materials/{second}")
    assert image.content == PNG and image.headers["content-security-policy"].startswith("sandbox;")
    versions = [v["version"] for m in site.service.materials.of_case(site.case) if m["item"] == "work_plan"
                for v in m["versions"]]
    assert versions == [1, 2]  # nothing overwritten


def test_refused_uploads_say_why_and_store_nothing(site: Site) -> None:
    cases = [
        ("work_plan", "方案.exe", b"MZ\x90\x00", "扩展名 .exe，只接受 PDF、JPG、PNG、OFD、Word、Excel"),
        ("work_plan", "方案.pdf", b"", "是空文件"),
        ("work_plan", "方案.pdf", b"GIF89a not a pdf", "内容不是PDF"),
        ("fee_schedule", "方案.pdf", PDF, "不是四川省申请材料清单中的材料"),
    ]
    for item, name, content, reason in cases:
        refused = _upload(site, "li.na", item, name, content)
        assert refused.status_code == 422 and reason in refused.text and "未保存任何文件" in refused.text, name
    client = site.client("li.na")
    token = csrf(client.get(f"/cases/{site.case}").text)
    no_file = client.post(f"/cases/{site.case}/materials", data={"csrf_token": token, "item": "work_plan"},
                          files={"file": ("", b"", "application/octet-stream")})
    assert no_file.status_code == 422 and "请选择要上传的文件" in no_file.text
    too_large = client.post(f"/cases/{site.case}/materials", data={"csrf_token": token, "item": "work_plan"},
                            files={"file": ("大.pdf", b"%PDF-1.7\n" + b"0" * (22 * 1024 * 1024), "application/pdf")})
    assert too_large.status_code == 413 and "未作任何更改" in too_large.text
    assert all(not m["versions"] for m in site.service.materials.of_case(site.case))


def test_only_the_case_authoritys_intake_clerks_upload(site: Site) -> None:
    expert = _upload(site, "zhao.lei", "work_plan", "方案.pdf", PDF)
    assert expert.status_code == 403 and "受理人员" in expert.text
    other_city = _upload(site, "wang.fang", "work_plan", "方案.pdf", PDF)
    assert other_city.status_code == 403 and "不属于您的辖区" in other_city.text
    assert all(not m["versions"] for m in site.service.materials.of_case(site.case))
    page = site.client("zhao.lei").get(f"/cases/{site.case}").text
    assert 'enctype="multipart/form-data"' not in page  # no form for those who may not use it


def test_a_stored_file_opens_only_for_those_who_may_see_the_case(site: Site) -> None:
    stored = site.service.materials.upload(site.case, "work_plan", "方案.pdf", PDF, actor="li.na")
    assert site.client("wang.fang").get(f"/materials/{stored['id']}").status_code == 403
    assert site.client().get(f"/materials/{stored['id']}").status_code == 303  # to the sign-in page
    assert site.client("li.na").get("/materials/999999").status_code == 404


def test_missing_required_materials_are_marked_until_a_file_comes(site: Site) -> None:
    application = example_application()
    for entry in application["materials"]:
        entry.pop("reference", None)  # declared, but neither a file nor a route to verify it online
    case = site.service.cases.apply(application)["case"]
    client = site.client("li.na")
    materials = _section(client.get(f"/cases/{case}").text, "materials")
    missing = [m["name"] for m in site.service.materials.of_case(case) if m["missing"]]
    assert "四川省" not in missing and len(missing) >= 5
    assert f"缺少必需材料 {len(missing)} 项" in materials and materials.count('class="missing"') == len(missing)
    site.service.materials.upload(case, "work_plan", "方案.pdf", PDF, actor="li.na")
    materials = _section(client.get(f"/cases/{case}").text, "materials")
    assert materials.count('class="missing"') == len(missing) - 1
    assert not re.search(r'<tr class="missing" data-item="work_plan">', materials)


def test_the_history_names_people_and_the_systems_own_steps_in_words(site: Site) -> None:
    site.service.materials.upload(site.case, "work_plan", "方案.pdf", PDF, actor="li.na")
    history = _section(site.client("li.na").get(f"/cases/{site.case}").text, "history")
    assert "李受理（li.na）" in history
    assert ">timer<" not in history and ">outbox<" not in history


def test_a_paper_application_is_registered_with_its_files(site: Site) -> None:
    client = site.client("li.na")
    form = client.get("/applications/new")
    assert 'enctype="multipart/form-data"' in form.text and 'name="material_files[7][file]"' in form.text
    registered = post_application_with_files(client, csrf(form.text), [
        ("application_form", "申请表.pdf", PDF), ("site_equipment_proof", "场地照片.png", PNG)])
    assert registered.status_code == 303, registered.text[-3000:]
    case = registered.headers["location"].split("/cases/")[1].split("?")[0]
    stored = {m["item"]: [v["file_name"] for v in m["versions"]] for m in site.service.materials.of_case(case)}
    assert stored["application_form"] == ["申请表.pdf"] and stored["site_equipment_proof"] == ["场地照片.png"]
    history = site.service.records.show(case)["history"]
    assert [h["actor"] for h in history if "上传材料" in h["summary"]] == ["li.na", "li.na"]


def test_a_refused_file_registers_nothing_and_says_to_choose_the_files_again(site: Site) -> None:
    client = site.client("li.na")
    token = csrf(client.get("/applications/new").text)
    cases_before = site.service.search.cases(CaseQuery())["total"]
    refused = post_application_with_files(client, token, [
        ("application_form", "申请表.pdf", PDF), ("work_plan", "方案.docx", b"not a zip at all")])
    assert refused.status_code == 422
    assert "材料文件第 2 行" in refused.text and "Word 文档" in refused.text and "请重新选择文件" in refused.text
    assert "work_plan\" selected" in refused.text  # the items chosen are kept
    off_list = post_application_with_files(client, token, [("district_hr_consent", "同意意见.pdf", PDF)])
    assert off_list.status_code == 422 and "不是四川省申请材料清单中的材料" in off_list.text
    no_item = post_application_with_files(client, token, [("", "申请表.pdf", PDF)])
    assert no_item.status_code == 422 and "请选择这份文件是哪一项材料" in no_item.text
    assert site.service.search.cases(CaseQuery())["total"] == cases_before  # nothing registered


def test_a_task_page_shows_the_file_with_what_its_form_asks_to_check_open(site: Site) -> None:
    task = site.open_task("acceptance")
    site.service.cases.claim(task["id"], "li.na")
    site.service.cases.complete(task["id"], {"decision": "accept"}, actor="li.na")
    expert = site.open_task("expert_review")
    page = site.client("zhao.lei").get(f"/tasks/{expert['id']}").text
    file = page.split('<section class="case-file" id="case-file">')[1].split("</section>")[0]
    opened = re.findall(r'<details class="application-part" open>\s*<summary>([^<{]+)', file)
    assert [title.strip() for title in opened] == ["申请认定的职业（工种）", "考评人员", "质量督导人员", "专家",
                                                   "申请材料"]
    assert re.search(r'data-item="work_plan">\s*<td>[^<]*<span class="badge">须核对</span>', file)
    assert not re.search(r'data-item="legal_person_certificate">\s*<td>[^<]*<span class="badge">须核对', file)
    occupation = site.service.records.show(site.case)["application"]["occupations"][0]
    assert occupation["name"] in file and "四级/中级工" in file


def test_a_refused_case_says_why_and_credits_the_system_for_its_automatic_steps(site: Site) -> None:
    task = site.open_task("acceptance")
    site.service.cases.claim(task["id"], "li.na")
    site.service.cases.complete(task["id"], {"decision": "reject", "reasons": "不属于本机关管辖范围"}, actor="li.na")
    page = site.client("li.na").get(f"/cases/{site.case}").text
    assert re.search(r"<dt>原因</dt><dd>不属于本机关管辖范围", page)  # the decision's reasons, not 未予备案
    history = site.service.records.show(site.case)["history"]
    completed = [h for h in history if h["action"] == "task_completed"]
    issued = [h for h in history if h["action"] == "document_issued"]
    assert [h["actor"] for h in completed] == ["li.na"] and [h["actor"] for h in issued] == ["system"]
    shown = _section(page, "history")
    assert "李受理（li.na）" in shown and "<td>系统</td>" in shown


def test_an_adverse_decision_says_how_to_challenge_it_and_a_supplement_notice_does_not(site: Site) -> None:
    task = site.open_task("acceptance")
    site.service.cases.complete(task["id"], {"decision": "reject", "reasons": "不属于本机关管辖范围"}, actor="li.na")
    (notice,) = site.service.records.show(site.case)["documents"]
    html = site.service.records.document(notice["id"])["html"]
    assert "六十日内向成都市人民政府申请行政复议" in html and "六个月内依法向人民法院提起行政诉讼" in html
    other = site.service.cases.apply(example_application())["case"]
    (again,) = [t for t in site.service.cases.tasks(other) if t["bpmn_id"] == "acceptance"]
    site.service.cases.complete(again["id"], {"decision": "supplement", "reasons": "缺工作方案"}, actor="li.na")
    (supplement,) = site.service.records.show(other)["documents"]
    assert "行政复议" not in site.service.records.document(supplement["id"])["html"]
