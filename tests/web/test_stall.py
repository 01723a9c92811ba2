"""One stuck step does not stop the web app for everyone (over real HTTP, uvicorn on loopback): the engine's work runs
in the thread pool and pages read without the write lock, so while a caseworker's step is held, other caseworkers
read their worklists, tasks and cases (and on PostgreSQL sign in); and a step whose expression runs over its limits
answers with the reason in Chinese and leaves the task open."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.outside.db import ProcessDefinition
from tasks.errors import DefinitionError
from tests.conftest import EXAMPLE_APPLICATION, ROOT
from tests.support.served import Served
from tests.web.conftest import PASSWORD, Site, csrf
from workflows import clock, engine
from workflows.definitions import read_source

ACCEPT_CONDITION = "acceptance['decision'] == 'accept'"


def _signed_in(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=20)
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                           "next": "/tasks"})
    assert response.status_code == 303, response.text
    return client


def test_a_held_step_leaves_other_caseworkers_served(site: Site, monkeypatch: Any) -> None:
    entered, release = threading.Event(), threading.Event()
    real_run_step = engine.run_step

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(60), "the test never released the step"
        return real_run_step(*args, **kwargs)

    monkeypatch.setattr(engine, "run_step", held)  # imported by Cases.complete when it runs
    served = Served(site.app)
    answers: dict[str, httpx.Response] = {}
    try:
        li_na = _signed_in(served.url, "li.na")
        colleague = _signed_in(served.url, "li.wei")
        task = site.open_task("acceptance")
        token = csrf(li_na.get(f"/tasks/{task['id']}").text)

        def complete() -> None:
            answers["li.na"] = li_na.post(f"/tasks/{task['id']}", data={"decision": "accept", "csrf_token": token})

        worker = threading.Thread(target=complete)
        worker.start()
        assert entered.wait(20), "the step never started"

        # While li.na's step is held: the sign-in page, and a colleague's worklist, task and case pages.
        assert httpx.get(f"{served.url}/login", timeout=10).status_code == 200
        assert colleague.get("/tasks?view=unclaimed").status_code == 200
        assert colleague.get(f"/tasks/{task['id']}").status_code == 200
        assert colleague.get(f"/cases/{site.case}").status_code == 200
        if site.service.engine.dialect.name == "postgresql":
            # Writes too (a sign-in records the attempt and opens a session). SQLite has one writer: there they
            # wait for the step, at most its time limit (workflows/engine.py MAX_SECONDS_PER_STEP).
            assert _signed_in(served.url, "wang.fang").get("/tasks").status_code == 200
        assert worker.is_alive() and "li.na" not in answers  # still held: the others did not wait for it

        release.set()
        worker.join(30)
        assert answers["li.na"].status_code == 303 and answers["li.na"].headers["location"].startswith("/cases/")
    finally:
        release.set()
        served.stop()
    assert [t["bpmn_id"] for t in site.service.cases.tasks(site.case)] == ["expert_review"]


def test_an_expression_over_its_limits_answers_in_chinese_and_keeps_the_task(site: Site, tmp_path: Path) -> None:
    bundled = ROOT / "bpmn" / "filing_application.bpmn"
    shutil.copytree(ROOT / "bpmn" / "forms", tmp_path / "forms")
    variant = tmp_path / "filing_application.bpmn"
    text = bundled.read_text(encoding="utf-8")
    assert ACCEPT_CONDITION in text
    # Depends on the data, so no static rule can refuse it: a string of a billion decisions. Tried on the running
    # case, the deploy refuses it; a version already deployed (before the rehearsal existed, or failing only on data
    # no running case has) still meets the engine's own guard, below.
    variant.write_text(text.replace(ACCEPT_CONDITION, "acceptance['decision'] * 10 ** 9 == 'accept'", 1),
                       encoding="utf-8")
    source = read_source(variant)
    with pytest.raises(DefinitionError, match=site.case):
        site.service.processes.deploy(source, actor="process-owner")
    with site.service.uow() as uow:
        uow.repo.add(ProcessDefinition(process_id=source.process_id, version=2, name=source.name,
                                       file_name=source.file_name, bpmn_xml=source.bpmn_xml, forms=source.forms,
                                       sha256=source.sha256, deployed_at=clock.now(), deployed_by="process-owner"))
        uow.commit()
    case = site.service.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"]
    (task,) = site.service.cases.tasks(case)

    served = Served(site.app)
    try:
        li_na = _signed_in(served.url, "li.na")
        token = csrf(li_na.get(f"/tasks/{task['id']}").text)
        refused = li_na.post(f"/tasks/{task['id']}", data={"decision": "accept", "csrf_token": token})
        assert refused.status_code == 409
        assert "超出内存限制" in refused.text and "保持原状态" in refused.text
        assert _signed_in(served.url, "li.wei").get("/tasks").status_code == 200
    finally:
        served.stop()
    assert [t["id"] for t in site.service.cases.tasks(case)] == [task["id"]]

