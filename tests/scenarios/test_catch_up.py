"""Legal time survives late timers: a filing left without any sweep from before its renewal window to weeks after its
expiry (the system down, or a long jump of the virtual clock) reaches the same end state as one swept on time — the
reminders whose moment passed are skipped, never a step failure that leaves the case stuck."""

from __future__ import annotations

from typing import Any

from tests.support.scenarios import EXPIRED, file_institution

LATE = "2029-11-10T10:00:00+08:00"  # 24 days after the validity ended on 16 October 2029


def _sweep_until_quiet(beian: Any, now: str) -> list[dict[str, Any]]:
    fired: list[dict[str, Any]] = []
    for _ in range(5):
        result = beian.json("sweep", now=now)
        assert result["failed"] == [], result["failed"]
        if not result["fired"]:
            return fired
        fired += result["fired"]
    raise AssertionError(f"the sweep kept firing: {fired}")


def _end_state(beian: Any, number: str) -> dict[str, Any]:
    shown = beian.json("show", number)
    return {"status": shown["status"], "valid_until": shown["valid_until"], "error": shown["error"],
            "cases": sorted((c["process"], c["open"], c["status"]) for c in shown["cases"]),
            "waiting": sorted(w.get("task", w.get("timer", "")) for w in shown["waiting_for"])}


def test_a_filing_swept_weeks_late_ends_as_one_swept_on_time(beian: Any, write_json: Any,
                                                             application: dict[str, Any]) -> None:
    _case, on_time = file_institution(beian, write_json, application)
    _sweep_until_quiet(beian, "2029-10-16T23:59:00+08:00")
    _sweep_until_quiet(beian, EXPIRED)
    _sweep_until_quiet(beian, LATE)
    expected = _end_state(beian, on_time)

    other = {**application, "institution": {**application["institution"], "name": "成都晚扫描职业培训学校",
                                            "credit_code": "91510100MA6123454N"}}
    _case, late = file_institution(beian, write_json, other)
    _sweep_until_quiet(beian, LATE)
    assert _end_state(beian, late) == expected
    history = [h["summary"] for h in beian.json("show", late)["history"]]
    assert any(s.startswith("续期提醒未发出：有效期已于 2029年10月16日 届满") for s in history)


def test_validity_starts_on_the_legal_day_even_when_the_sweep_runs_days_late(backend_url: str) -> None:
    from tests.support.scenarios import apply_by_service, at, to_publicity_by_service
    from workflows.service import Beian

    app = Beian(backend_url)
    try:
        app.init()
        case = apply_by_service(app)
        to_publicity_by_service(app, case)  # over at the end of Friday 16 October 2026
        with at("2026-10-19T10:00:00+08:00"):  # the system was down over the weekend
            app.operations.sweep()
        shown = app.records.show(case)
        assert (shown["valid_from"], shown["valid_until"]) == ("2026-10-17", "2029-10-16")
    finally:
        app.close()


def test_an_objection_review_ending_after_the_publicity_dates_the_filing_by_its_decision(backend_url: str) -> None:
    from tests.support.scenarios import apply_by_service, at, step, to_publicity_by_service
    from workflows.service import Beian

    app = Beian(backend_url)
    try:
        app.init()
        case = apply_by_service(app)
        to_publicity_by_service(app, case)
        with at("2026-10-15T10:00:00+08:00"):
            app.cases.send("objection", case, {"objector": "某职业培训学校", "content": "考评人员资格存疑"})
        step(app, case, "objection_review", {"upheld": False, "opinion": "经核查，异议不成立"},
             "2026-10-20T09:00:00+08:00")
        with at("2026-10-21T10:00:00+08:00"):  # and the sweep a day later still
            app.operations.sweep()
        assert app.records.show(case)["valid_from"] == "2026-10-20"
    finally:
        app.close()
