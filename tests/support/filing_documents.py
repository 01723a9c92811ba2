"""A complete context for each document of a new filing (receipt, notices), as the service would give it."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

SICHUAN_RECEIPT = "川人社办发〔2019〕94号附件3第一条第4项"


SICHUAN_ACCEPTANCE = "川人社办发〔2019〕94号附件3第一条第2项"


def institution(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "四川蜀能电力检修有限公司",
        "credit_code": "91510100MA61R2XK7Q",
        "type": "employer",
        "address": "四川省成都市高新区天府大道北段1700号",
        "legal_representative": "王建国",
    }
    data.update(overrides)
    return data


def occupations() -> list[dict[str, Any]]:
    return [
        {"code": "6-28-01-14", "name": "电工", "levels": [3, 5, 4], "basis": "national_standard"},
        {
            "code": "6-28-01-05",
            "name": "变电设备检修工",
            "levels": [1, 2],
            "basis": "evaluation_specification",
        },
    ]


def common(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "case": "BA-2026-000123",
        "institution": institution(),
        "authority_name": "四川省人力资源和社会保障厅",
        "issued_on": date(2026, 11, 3),
        "document_number": "川技鉴备〔2026〕1号",
    }
    data.update(overrides)
    return data


CONTEXTS: dict[str, dict[str, Any]] = {
    "filing_receipt": common(
        filing_number="川评备〔2026〕0001号",
        valid_from=date(2026, 11, 3),
        valid_until="2029-11-02",
        occupations=occupations(),
        region_name="四川省",
        filing_authority="四川省人力资源和社会保障厅",
        procedure="审核评估和公示",
        articles=[SICHUAN_RECEIPT, "《吉林省职业技能等级评价机构管理办法（试行）》第十三条"],
    ),
    "rejection_notice": common(
        document_number="川评不受〔2026〕7号",
        issued_on="2026-10-15",
        received_on=date(2026, 10, 8),
        reasons=[
            "申请职业“电梯安装维修工”属于准入类职业，不在职业技能等级认定范围内",
            "每个职业考评人员不足3人",
        ],
        articles=[SICHUAN_ACCEPTANCE],
    ),
    "supplement_notice": common(
        issued_on=date(2026, 10, 15),
        received_on="2026-10-08",
        missing=["法人登记证书复印件", "评价职业（工种）题库建设情况说明", "考评人员技术技能水平证明文件"],
        articles=[SICHUAN_ACCEPTANCE, "川人社办发〔2019〕94号第五条"],
    ),
    "not_filed_notice": common(
        issued_on=date(2026, 12, 1),
        stage="expert_review",
        reasons="技术评估意见为不合格：考评场地与评价职业不相适应，缺少网络视频监控设备",
        articles="《吉林省职业技能等级评价机构管理办法（试行）》第十二条",
    ),
    "correction_notice": common(
        articles=[SICHUAN_ACCEPTANCE],
        corrected_title="不予受理通知书",
        corrected_number="川技鉴不受〔2026〕2号",
        corrected_issued_on="2026-10-30",
        corrections=["“收到申请日期”应为2026年10月8日，误写为2026年10月9日"],
    ),
}


# This file covers the documents of the new filing; tests/unit/test_lifecycle_documents.py covers the others
# (and checks that the two together cover every kind).
FILING_KINDS = sorted(CONTEXTS)


def context(kind: str) -> dict[str, Any]:
    return copy.deepcopy(CONTEXTS[kind])
