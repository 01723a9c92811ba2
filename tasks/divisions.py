"""Names of the cities (市、州) and districts (区) under the provinces this system is configured for (regions.toml):
what people read where the system keeps a code (GB/T 2260 administrative division codes, as of 2024).

Only the level an authority sits at is listed: a municipal authority is a city's (510100 成都市), or in Beijing and
Shanghai a district's (110108 海淀区). A code not listed here (a county, or the Corps' 师市, whose codes are not in
GB/T 2260) is shown as its province's name and the code.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

DIVISIONS: Final = MappingProxyType({
    # 四川省
    "510100": "成都市", "510300": "自贡市", "510400": "攀枝花市", "510500": "泸州市", "510600": "德阳市",
    "510700": "绵阳市", "510800": "广元市", "510900": "遂宁市", "511000": "内江市", "511100": "乐山市",
    "511300": "南充市", "511400": "眉山市", "511500": "宜宾市", "511600": "广安市", "511700": "达州市",
    "511800": "雅安市", "511900": "巴中市", "512000": "资阳市", "513200": "阿坝藏族羌族自治州",
    "513300": "甘孜藏族自治州", "513400": "凉山彝族自治州",
    # 吉林省
    "220100": "长春市", "220200": "吉林市", "220300": "四平市", "220400": "辽源市", "220500": "通化市",
    "220600": "白山市", "220700": "松原市", "220800": "白城市", "222400": "延边朝鲜族自治州",
    # 北京市
    "110101": "东城区", "110102": "西城区", "110105": "朝阳区", "110106": "丰台区", "110107": "石景山区",
    "110108": "海淀区", "110109": "门头沟区", "110111": "房山区", "110112": "通州区", "110113": "顺义区",
    "110114": "昌平区", "110115": "大兴区", "110116": "怀柔区", "110117": "平谷区", "110118": "密云区",
    "110119": "延庆区",
    # 上海市
    "310101": "黄浦区", "310104": "徐汇区", "310105": "长宁区", "310106": "静安区", "310107": "普陀区",
    "310109": "虹口区", "310110": "杨浦区", "310112": "闵行区", "310113": "宝山区", "310114": "嘉定区",
    "310115": "浦东新区", "310116": "金山区", "310117": "松江区", "310118": "青浦区", "310120": "奉贤区",
    "310151": "崇明区",
})


def division_name(code: str) -> str | None:
    """The city's or district's name, or None when it is not listed."""
    return DIVISIONS.get(code)
