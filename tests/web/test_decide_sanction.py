"""People decide a sanction after the 告知 (Jilin 第三十五条), in the browser: the approver's task page shows what was
proposed in the investigation's own words and the institution's views; the decision it records is the one served."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Site, csrf, filed
from workflows.users import add_user


def test_the_approver_reads_the_proposal_and_the_views_and_decides(site: Site) -> None:
    number = filed(site)
    add_user(site.service, "wu.pi", "吴审批", PASSWORD, ("approver",), "510100", actor="test")
    opened = site.service.cases.send("violation_report", number, {"ground": "false_advertising",
                                                                  "facts": "官网宣传“包过”"}, actor="qian.jian")
    case = opened["case"]
    (task,) = site.service.cases.tasks(case)
    site.service.cases.complete(task["id"], {"decision": "warning", "opinion": "宣传“包过”属实",
                                             "facts": "官网宣传“包过”", "rectification_days": 10},
                                actor="qian.jian")
    told = [d for d in site.service.records.show(case)["documents"] if d["case"] == case]
    assert [d["title"] for d in told] == ["拟作出处理决定告知书"]
    assert site.service.records.show(number)["status"] == "filed", "nothing imposed before the decision"
    site.service.cases.send("statement", case, {"text": "宣传系代理机构擅自发布"}, actor="institution")
    (decide,) = site.service.cases.tasks(case)
    assert decide["bpmn_id"] == "decide_sanction"

    approver = site.client("wu.pi")
    page = approver.get(f"/tasks/{decide['id']}")
    assert page.status_code == 200
    assert "作出处理决定" in page.text and "办理依据" in page.text
    assert "情节严重或一年内再次出现：警告、限期整改、暂停评价" in page.text, "the proposal by its title"
    assert "宣传系代理机构擅自发布" in page.text
    assert "按告知的措施作出处理决定" in page.text and "不予处理" in page.text
    assert site.client("qian.jian").get(f"/tasks/{decide['id']}").status_code == 403, "the investigator does not decide"

    token = csrf(page.text)
    empty = approver.post(f"/tasks/{decide['id']}", data={"csrf_token": token, "decision": "impose"})
    assert empty.status_code == 422 and "决定理由" in empty.text
    assert site.service.records.show(number)["status"] == "filed"
    reasons = "代理机构以本机构名义宣传，机构应负责"
    done = approver.post(f"/tasks/{decide['id']}", data={"csrf_token": token, "decision": "impose", "reasons": reasons})
    assert done.status_code == 303, done.text[-2000:]
    shown = site.service.records.show(number)
    assert shown["status"] == "suspended"
    assert [v["measure"] for v in shown["filing"]["violations"]] == ["warning"]
    assert any(h["actor"] == "wu.pi" for h in site.service.records.show(case)["history"])
