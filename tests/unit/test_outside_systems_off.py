"""Outside systems switched off for synthetic work (a simulation, a check's trial run) in one thread only: a web
request trying a diagram must not switch them off for the request beside it."""

from __future__ import annotations

import threading

from adapters.outside.settings import OUTSIDE_SYSTEMS, load_settings, outside_systems_off

ENVIRONMENT = {"BEIAN_SANDBOX_URL": "http://127.0.0.1:4210", "BEIAN_CREDIT_REGISTRY_URL": "https://credit.example.cn"}


def test_every_system_reads_as_not_configured_inside_the_block_and_as_before_after_it() -> None:
    with outside_systems_off():
        inside = load_settings(ENVIRONMENT)
    after = load_settings(ENVIRONMENT)
    assert not any(inside.system(key).configured for key in OUTSIDE_SYSTEMS)
    assert after.system("credit_registry").base_url == "https://credit.example.cn"
    assert after.system("notice_website").base_url == "http://127.0.0.1:4210/notice_website"


def test_another_thread_keeps_its_outside_systems_meanwhile() -> None:
    switched, seen = threading.Event(), threading.Event()
    beside: list[bool] = []

    def other_request() -> None:
        switched.wait(5)
        beside.append(load_settings(ENVIRONMENT).system("credit_registry").configured)
        seen.set()

    thread = threading.Thread(target=other_request)
    thread.start()
    with outside_systems_off():
        switched.set()
        seen.wait(5)
        here = load_settings(ENVIRONMENT).system("credit_registry").configured
    thread.join()
    assert beside == [True]
    assert here is False
