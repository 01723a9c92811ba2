"""`beian up` on a fresh database: a first administrator, demo caseworkers and demo applications, all marked."""

from __future__ import annotations

from adapters.entrypoints.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_empty_database
from workflows.service import Beian
from workflows.users import authenticate, list_users


def test_a_fresh_database_gets_an_administrator_demo_people_and_demo_applications(backend_url: str) -> None:
    app = Beian(backend_url)
    try:
        app.init()
        seeded = seed_empty_database(app)
        assert seeded is not None
        admin = authenticate(app, "admin", seeded["admin_password"])
        assert admin is not None and admin.is_admin
        for username, (name, roles, region) in DEMO_PEOPLE.items():
            person = authenticate(app, username, DEMO_PASSWORD)
            assert person is not None and person.roles == roles and person.region == region
            assert name.startswith("【演示】")
        shown = [app.records.show(case) for case in seeded["cases"]]
        assert len(shown) == 2 and all(s["institution"]["name"].startswith("【演示数据】") for s in shown)
        assert {t["bpmn_id"] for case in seeded["cases"] for t in app.cases.tasks(case)} == {"acceptance"}
        # Started again on the same database: nothing is added, no new password.
        assert seed_empty_database(app) is None
        assert len(list_users(app)) == 1 + len(DEMO_PEOPLE)
    finally:
        app.close()
