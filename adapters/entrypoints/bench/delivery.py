"""(c) Delivery throughput against the sandbox.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from adapters.outside.db import OutboxMessage

if TYPE_CHECKING:
    pass

from adapters.entrypoints.bench.common import DELIVER_AT, CaseTemplate, Say, initialised


def bench_delivery(url: str, deliveries: int, sandbox: Any, say: Say) -> dict[str, Any]:
    from adapters.outside.settings import load_settings
    from workflows import clock
    from workflows.delivery import deliver_due

    app = initialised(url)
    try:
        with app.uow() as uow:
            for index in range(deliveries):
                case_id = CaseTemplate.case_of(index)
                uow.repo.add(OutboxMessage(
                    key=f"{case_id}/national_registry/{uuid.uuid4().hex}", case_id=case_id, filing_id=None,
                    system="national_registry", path="filing-events", summary="报送备案信息（基准测试）",
                    payload={"event": "filed", "case": case_id, "filing_number": f"BENCH-{index:07d}",
                             "institution": "成都锦城精工机械制造有限公司", "credit_code": "91510104MA6C8H2K5N",
                             "occurred_at": DELIVER_AT.isoformat()},
                    status="pending", attempts=0, next_attempt_at=DELIVER_AT, created_at=DELIVER_AT))
            uow.commit()
        settings = load_settings({"BEIAN_SANDBOX_URL": sandbox.url})
        with clock.using_clock(clock.VirtualClock(DELIVER_AT)):
            started = time.perf_counter()
            result = deliver_due(app, settings, limit=deliveries)
            seconds = time.perf_counter() - started
        with app.uow() as uow:
            counts = dict(uow.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        received = len(sandbox.received("national_registry"))
    finally:
        app.close()
    delivered = counts.get("delivered", 0)
    figures = {
        "system": "national_registry",
        "messages": deliveries,
        "delivered": delivered,
        "statuses": counts,
        "sandbox_received": received,
        "all_delivered": delivered == deliveries == received and result["delivered"] == deliveries,
        "seconds": round(seconds, 3),
        "per_second": round(deliveries / seconds, 1),
        "ms_per_delivery": round(seconds * 1000 / deliveries, 3),
    }
    say(f"送达：{deliveries} 条 / {figures['seconds']} s = {figures['per_second']} 条/秒；"
        f"全部送达：{'是' if figures['all_delivered'] else '否'}（沙箱收到 {received} 条）")
    return figures
