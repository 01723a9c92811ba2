"""`beian simulate-profile`: how long the acceptance really took and what was decided, measured from the history in
office time, printed as a profile that `beian simulate --profile` takes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import Beian
from workflows import clock
from workflows.service import Beian as Service

# Six applications received on Thursday 8 October 2026 at 09:00, decided 1 … 6 working days later at 09:00
# (Saturday 10 October is a working day that year), five accepted and one refused.
RECEIVED = "2026-10-08T09:00:00+08:00"
DECIDED = ["2026-10-09", "2026-10-10", "2026-10-12", "2026-10-13", "2026-10-14", "2026-10-15"]


def _decided_history(url: str, application: dict[str, Any]) -> None:
    app = Service(url)
    try:
        cases = []
        with clock.using_clock(clock.VirtualClock(datetime.fromisoformat(RECEIVED))):
            for _ in DECIDED:
                cases.append(app.cases.apply(application)["case"])
        for index, (case, day) in enumerate(zip(cases, DECIDED, strict=True)):
            with clock.using_clock(clock.VirtualClock(datetime.fromisoformat(f"{day}T09:00:00+08:00"))):
                (task,) = app.cases.tasks(case)
                refused = {"decision": "reject", "reasons": "不属于技能类职业"}
                app.cases.complete(task["id"], refused if index == 5 else {"decision": "accept"})
    finally:
        app.close()


def test_the_history_gives_the_acceptance_profile_and_the_simulation_takes_it(
        beian: Beian, application: dict[str, Any], tmp_path: Path) -> None:
    _decided_history(beian.url, application)
    result = beian("simulate-profile", as_json=False)
    profile = json.loads(result.out)
    assert profile["tasks"] == {"acceptance": {
        "duration": {"distribution": "lognormal", "median": 3.5, "p90": 6.0},
        "outcomes": {"decision": {"accept": 5, "reject": 1}}}}
    assert "受理审查（acceptance）6 件" in profile["description"]

    path = tmp_path / "measured.json"
    path.write_text(result.out, encoding="utf-8")
    report = beian.json("simulate", "filing_application", "--cases", "5", "--from", "2026-11-02", "--until",
                        "2026-11-06", "--profile", str(path))
    assert report["profile"] == str(path) and report["versions"][0]["started"] == 5

    # Too few completions, or only records before the decisions: refused in words.
    assert "没有哪个环节办结满 7 件" in beian("simulate-profile", "--min-samples", "7", as_json=False, expect=4).err
    assert "自 2026-11-01 起" in beian("simulate-profile", "--since", "2026-11-01", as_json=False, expect=4).err
    assert "尚未部署" in beian("simulate-profile", "no_such_process", as_json=False, expect=3).err
