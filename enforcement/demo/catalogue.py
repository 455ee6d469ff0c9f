"""Reference data of the demo: departments, the inspection item list and industries.

Static and seed-independent. The legal bases cite the national laws and State Council
regulations that such items rest on in published county lists (随机抽查事项清单); the codes
follow the department-category-number pattern of those lists but are made up.
"""

from __future__ import annotations

from dataclasses import dataclass

from enforcement.models import EntityType, InspectionMethod

COMPANY = EntityType.COMPANY.value
INDIVIDUAL = EntityType.INDIVIDUAL.value
COOPERATIVE = EntityType.COOPERATIVE.value


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    name_en: str
    number: str  # two digits inside the demo credential numbers (执法证号)
    weight: float  # share of the inspectors


DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("SCJG", "市场监督管理局", "Administration for Market Regulation", "01", 0.40),
    DepartmentSpec("SPAQ", "食品安全监督管理", "Food Safety Supervision", "02", 0.20),
    DepartmentSpec("TZSB", "特种设备安全监察", "Special Equipment Safety Inspection", "03", 0.12),
    DepartmentSpec("STHJ", "生态环境局", "Bureau of Ecology and Environment", "04", 0.10),
    DepartmentSpec("XFJY", "消防救援大队", "Fire and Rescue Brigade", "05", 0.08),
    DepartmentSpec("WSJK", "卫生健康委员会", "Health Commission", "06", 0.06),
    DepartmentSpec("NYNC", "农业农村局", "Bureau of Agriculture and Rural Affairs", "07", 0.04),
)


@dataclass(frozen=True)
class ItemSpec:
    code: str
    department_code: str
    name: str
    legal_basis: str
    scope_industries: tuple[str, ...]  # GB/T 4754-2017 prefixes; empty = all
    scope_entity_types: tuple[str, ...]  # EntityType values; empty = all
    method: InspectionMethod
    default_interval_months: int


_ON_SITE = InspectionMethod.ON_SITE
_DOCUMENTS = InspectionMethod.DOCUMENTS
_ONLINE = InspectionMethod.ONLINE

_FOOD_PRODUCTION = ("C13", "C14", "C15")
_FOOD_TRADE = ("F512", "F5212", "F5213", "F522")
_SPECIAL_EQUIPMENT_USERS = ("C", "D45", "F5212", "F5265", "H61", "K7020", "O8051", "R9020")

# fmt: off
ITEMS: tuple[ItemSpec, ...] = (
    # ---------------------------------------------------------------- market supervision
    ItemSpec(
        "SCJG-GS-001", "SCJG", "企业年度报告公示信息的抽查",
        "《企业信息公示暂行条例》第八条、第十四条",
        (), (COMPANY,), _DOCUMENTS, 12,
    ),
    ItemSpec(
        "SCJG-GS-002", "SCJG", "企业即时公示信息的抽查",
        "《企业信息公示暂行条例》第十条、第十四条",
        (), (COMPANY,), _DOCUMENTS, 24,
    ),
    ItemSpec(
        "SCJG-GS-003", "SCJG", "个体工商户、农民专业合作社年度报告信息的抽查",
        "《中华人民共和国市场主体登记管理条例》第三十五条",
        (), (INDIVIDUAL, COOPERATIVE), _DOCUMENTS, 24,
    ),
    ItemSpec(
        "SCJG-DJ-001", "SCJG", "营业执照公示和登记事项规范情况的检查",
        "《中华人民共和国市场主体登记管理条例》第三十六条",
        (), (), _ON_SITE, 24,
    ),
    ItemSpec(
        "SCJG-JG-001", "SCJG", "明码标价情况的检查",
        "《中华人民共和国价格法》第十三条；《明码标价和禁止价格欺诈规定》",
        ("F52", "H61", "H62", "O80", "O81"), (), _ON_SITE, 12,
    ),
    ItemSpec(
        "SCJG-GG-001", "SCJG", "广告发布内容的检查",
        "《中华人民共和国广告法》第九条、第二十八条",
        ("L725", "F5292", "F525"), (), _ONLINE, 12,
    ),
    ItemSpec(
        "SCJG-CP-001", "SCJG", "产品质量监督抽查",
        "《中华人民共和国产品质量法》第十五条",
        ("C",), (COMPANY,), _ON_SITE, 24,
    ),
    ItemSpec(
        "SCJG-CP-002", "SCJG", "生产者产品标识的检查",
        "《中华人民共和国产品质量法》第二十七条",
        ("C",), (), _ON_SITE, 24,
    ),
    ItemSpec(
        "SCJG-CP-003", "SCJG", "销售者进货检查验收制度执行情况的检查",
        "《中华人民共和国产品质量法》第三十三条",
        ("F51", "F52"), (), _ON_SITE, 24,
    ),
    ItemSpec(
        "SCJG-JL-001", "SCJG", "强制检定计量器具使用情况的检查",
        "《中华人民共和国计量法》第九条",
        ("F5212", "F522", "F5265", "F5123", "D45"), (), _ON_SITE, 24,
    ),
    ItemSpec(
        "SCJG-DS-001", "SCJG", "电子商务经营者公示营业执照信息的检查",
        "《中华人民共和国电子商务法》第十五条",
        ("F5292",), (), _ONLINE, 12,
    ),
    ItemSpec(
        "SCJG-YP-001", "SCJG", "药品零售企业执行药品经营质量管理规范情况的检查",
        "《中华人民共和国药品管理法》第五十三条",
        ("F525",), (), _ON_SITE, 12,
    ),
    # ---------------------------------------------------------------- food safety
    ItemSpec(
        "SPAQ-SC-001", "SPAQ", "食品生产许可条件保持情况的检查",
        "《中华人民共和国食品安全法》第三十三条、第三十五条",
        _FOOD_PRODUCTION, (), _ON_SITE, 12,
    ),
    ItemSpec(
        "SPAQ-SC-002", "SPAQ", "食品生产过程控制和出厂检验记录的检查",
        "《中华人民共和国食品安全法》第四十六条、第五十一条",
        _FOOD_PRODUCTION, (), _ON_SITE, 12,
    ),
    ItemSpec(
        "SPAQ-JY-001", "SPAQ", "食品经营者进货查验记录和食品贮存的检查",
        "《中华人民共和国食品安全法》第五十三条、第五十四条",
        _FOOD_TRADE, (), _ON_SITE, 12,
    ),
    ItemSpec(
        "SPAQ-CY-001", "SPAQ", "餐饮服务原料控制和加工制作过程的检查",
        "《中华人民共和国食品安全法》第五十五条",
        ("H62", "H61"), (), _ON_SITE, 12,
    ),
    ItemSpec(
        "SPAQ-CY-002", "SPAQ", "餐具饮具清洗消毒情况的检查",
        "《中华人民共和国食品安全法》第五十六条",
        ("H62",), (), _ON_SITE, 12,
    ),
    ItemSpec(
        "SPAQ-RY-001", "SPAQ", "食品从业人员健康管理情况的检查",
        "《中华人民共和国食品安全法》第四十五条",
        (*_FOOD_PRODUCTION, *_FOOD_TRADE, "H62"), (), _ON_SITE, 24,
    ),
    ItemSpec(
        "SPAQ-BZ-001", "SPAQ", "预包装食品标签的检查",
        "《中华人民共和国食品安全法》第六十七条、第七十一条",
        (*_FOOD_PRODUCTION, *_FOOD_TRADE), (), _ON_SITE, 24,
    ),
    ItemSpec(
        "SPAQ-WL-001", "SPAQ", "入网食品经营者和网络食品交易的检查",
        "《中华人民共和国食品安全法》第六十二条",
        ("F5292", "H6241"), (), _ONLINE, 12,
    ),
    # ---------------------------------------------------------------- special equipment
    ItemSpec(
        "TZSB-SY-001", "TZSB", "特种设备使用登记情况的检查",
        "《中华人民共和国特种设备安全法》第三十三条",
        _SPECIAL_EQUIPMENT_USERS, (COMPANY,), _ON_SITE, 12,
    ),
    ItemSpec(
        "TZSB-JY-001", "TZSB", "特种设备定期检验和安全技术档案的检查",
        "《中华人民共和国特种设备安全法》第三十五条、第四十条",
        _SPECIAL_EQUIPMENT_USERS, (COMPANY,), _ON_SITE, 12,
    ),
    ItemSpec(
        "TZSB-DT-001", "TZSB", "电梯维护保养情况的检查",
        "《中华人民共和国特种设备安全法》第四十五条",
        ("K7020", "H61", "F5212"), (), _ON_SITE, 12,
    ),
    ItemSpec(
        "TZSB-QP-001", "TZSB", "气瓶充装单位充装活动的检查",
        "《中华人民共和国特种设备安全法》第四十九条",
        ("D4512",), (), _ON_SITE, 6,
    ),
    ItemSpec(
        "TZSB-YL-001", "TZSB", "大型游乐设施运营使用单位安全管理的检查",
        "《中华人民共和国特种设备安全法》第三十六条",
        ("R9020",), (), _ON_SITE, 6,
    ),
    # ---------------------------------------------------------------- ecology and environment
    ItemSpec(
        "STHJ-PW-001", "STHJ", "排污许可证执行情况的检查",
        "《中华人民共和国环境保护法》第四十五条；《中华人民共和国大气污染防治法》第十九条",
        ("C", "D"), (COMPANY,), _ON_SITE, 12,
    ),
    ItemSpec(
        "STHJ-YY-001", "STHJ", "餐饮服务油烟净化设施安装和使用情况的检查",
        "《中华人民共和国大气污染防治法》第八十一条",
        ("H62",), (), _ON_SITE, 24,
    ),
    ItemSpec(
        "STHJ-VOC-001", "STHJ", "挥发性有机物废气收集处理的检查",
        "《中华人民共和国大气污染防治法》第四十五条",
        ("C2110", "C2431", "C2641", "C2927", "O8111"), (), _ON_SITE, 12,
    ),
    ItemSpec(
        "STHJ-WF-001", "STHJ", "危险废物规范化管理的检查",
        "《中华人民共和国固体废物污染环境防治法》第七十八条",
        ("C26", "C32", "C33", "O8111"), (), _ON_SITE, 12,
    ),
    # ---------------------------------------------------------------- fire and rescue
    ItemSpec(
        "XFJY-ZZ-001", "XFJY", "单位消防安全职责落实情况的检查",
        "《中华人民共和国消防法》第十六条",
        ("C", "F5212", "H61", "H62", "K7020", "R9020"), (COMPANY,), _ON_SITE, 12,
    ),
    ItemSpec(
        "XFJY-SS-001", "XFJY", "消防设施器材和疏散通道、安全出口的检查",
        "《中华人民共和国消防法》第二十八条",
        (), (), _ON_SITE, 12,
    ),
    ItemSpec(
        "XFJY-YB-001", "XFJY", "易燃易爆危险品场所消防安全的检查",
        "《中华人民共和国消防法》第二十三条",
        ("C26", "D45", "F5265"), (), _ON_SITE, 6,
    ),
    # ---------------------------------------------------------------- health
    ItemSpec(
        "WSJK-GG-001", "WSJK", "公共场所卫生状况的检查",
        "《公共场所卫生管理条例》第三条",
        ("H61", "O8040", "O8051"), (), _ON_SITE, 12,
    ),
    ItemSpec(
        "WSJK-YS-001", "WSJK", "涉及饮用水卫生安全的产品和供水单位的检查",
        "《中华人民共和国传染病防治法》第二十九条",
        ("C1522",), (), _ON_SITE, 12,
    ),
    # ---------------------------------------------------------------- agriculture
    ItemSpec(
        "NYNC-NY-001", "NYNC", "农药经营许可情况的检查",
        "《农药管理条例》第二十四条",
        ("F5167",), (), _ON_SITE, 12,
    ),
    ItemSpec(
        "NYNC-NY-002", "NYNC", "农药经营者采购台账的检查",
        "《农药管理条例》第二十七条",
        ("F5167",), (), _ON_SITE, 12,
    ),
)
# fmt: on


@dataclass(frozen=True)
class IndustrySpec:
    """A GB/T 4754-2017 class, how often each kind of entity is in it, and the words of names."""

    code: str
    name: str
    company_weight: float
    individual_weight: float
    cooperative_weight: float
    company_words: tuple[str, ...] = ()  # 鸿泰 + word + 有限公司
    shop_words: tuple[str, ...] = ()  # 李记 + word (individual businesses)
    cooperative_words: tuple[str, ...] = ()  # 鸿泰 + word + 专业合作社
    manufacturing: bool = False  # may be a 厂 (works) rather than a 公司


def _i(
    code: str,
    name: str,
    weights: tuple[float, float, float],
    company: tuple[str, ...] = (),
    shop: tuple[str, ...] = (),
    cooperative: tuple[str, ...] = (),
) -> IndustrySpec:
    return IndustrySpec(
        code, name, *weights, company, shop, cooperative, manufacturing=code.startswith("C")
    )


# Weights per entity type (company, individual business, cooperative): retail, catering and
# services dominate individual businesses; manufacturing and trade the companies.
# fmt: off
INDUSTRIES: tuple[IndustrySpec, ...] = (
    _i("A0141", "蔬菜种植", (0.1, 0.2, 3.0), ("农业开发",), ("蔬菜种植场",), ("蔬菜", "果蔬")),
    _i("A0142", "食用菌种植", (0.05, 0.1, 1.0), ("菌业",), ("菌菇场",), ("食用菌",)),
    _i("A0143", "花卉种植", (0.1, 0.1, 1.0), ("园艺",), ("花木场",), ("花卉苗木",)),
    _i("A0151", "仁果类和核果类水果种植", (0.1, 0.1, 2.0), ("果业",), ("果园",), ("水果", "果业")),
    _i("A0164", "茶叶种植", (0.1, 0.1, 2.0), ("茶业",), ("茶园",), ("茶叶",)),
    _i("A0313", "猪的饲养", (0.1, 0.1, 1.5), ("牧业",), ("养猪场",), ("生猪",)),
    _i("A0321", "鸡的饲养", (0.05, 0.1, 1.0), ("禽业",), ("养鸡场",), ("家禽", "蛋鸡")),
    _i("A0412", "内陆养殖", (0.05, 0.1, 1.0), ("水产",), ("养殖场",), ("水产养殖",)),
    _i("C1353", "肉制品及副产品加工", (0.6, 0.2, 0), ("食品",), ("肉制品加工坊",)),
    _i("C1411", "糕点、面包制造", (0.8, 1.0, 0), ("食品",), ("糕点坊", "面包房")),
    _i("C1431", "米、面制品制造", (0.6, 0.8, 0), ("食品",), ("面条加工坊", "年糕坊")),
    _i("C1462", "酱油、食醋及类似制品制造", (0.3, 0.1, 0), ("酿造", "调味品"), ("酱园",)),
    _i("C1512", "白酒制造", (0.3, 0.2, 0), ("酒业",), ("酒坊",)),
    _i("C1522", "瓶（罐）装饮用水制造", (0.2, 0, 0), ("饮用水", "水业")),
    _i("C1530", "精制茶加工", (0.6, 0.5, 0.5), ("茶业",), ("茶厂",), ("茶叶",)),
    _i("C1819", "其他机织服装制造", (2.0, 0.5, 0), ("服饰", "制衣"), ("制衣坊",)),
    _i("C2110", "木质家具制造", (1.5, 0.3, 0), ("家具", "红木家具"), ("家具作坊",)),
    _i("C2431", "雕塑工艺品制造", (0.8, 0.5, 0), ("工艺品", "木雕"), ("木雕工作室",)),
    _i("C2641", "涂料制造", (0.3, 0, 0), ("化工", "涂料")),
    _i("C2927", "日用塑料制品制造", (1.0, 0.2, 0), ("塑料制品", "塑业"), ("塑料加工店",)),
    _i("C3211", "铜冶炼", (0.2, 0, 0), ("铜业", "有色金属")),
    _i("C3311", "金属结构制造", (0.6, 0, 0), ("钢结构", "金属制品")),
    _i("C3381", "金属制厨房用器具制造", (1.5, 0.3, 0), ("五金制品", "厨具"), ("五金加工店",)),
    _i("C3435", "电梯、自动扶梯及升降机制造", (0.2, 0, 0), ("电梯",)),
    _i("C3854", "家用厨房电器具制造", (0.8, 0, 0), ("电器", "厨房电器")),
    _i("D4512", "液化石油气生产和供应业", (0.3, 0, 0), ("燃气", "液化气")),
    _i("E5012", "住宅装饰和装修", (2.0, 1.0, 0), ("装饰工程", "装饰设计"), ("装潢店",)),
    _i("F5123", "果品、蔬菜批发", (1.0, 1.0, 0), ("农产品",), ("蔬菜批发部", "水果批发部")),
    _i("F5167", "农药批发", (0.5, 1.0, 0), ("农资",), ("农资店", "农药店")),
    _i("F5199", "其他未列明批发业", (4.0, 0.5, 0), ("贸易", "商贸", "进出口"), ("商行",)),
    _i("F5212", "超级市场零售", (3.0, 4.0, 0), ("超市", "商贸"), ("超市",)),
    _i("F5213", "便利店零售", (2.0, 8.0, 0), ("便利店",), ("便利店", "小卖部")),
    _i("F5221", "粮油零售", (1.0, 3.0, 0), ("粮油",), ("粮油店",)),
    _i("F5223", "果品、蔬菜零售", (0.5, 5.0, 0), ("果业",), ("水果店", "蔬菜店")),
    _i("F5224", "肉、禽、蛋、奶及水产品零售", (0.5, 4.0, 0), ("食品",), ("鲜肉店", "水产店")),
    _i("F5226", "酒、饮料及茶叶零售", (1.0, 3.0, 0), ("茶业", "酒业"), ("茶叶店", "烟酒店")),
    _i("F5232", "服装零售", (2.0, 6.0, 0), ("服饰",), ("服装店",)),
    _i("F5251", "西药零售", (1.5, 1.0, 0), ("大药房", "医药"), ("药店",)),
    _i("F5265", "机动车燃油零售", (0.6, 0, 0), ("石油", "加油站")),
    _i("F5281", "五金零售", (1.0, 3.0, 0), ("五金",), ("五金店",)),
    _i("F5292", "互联网零售", (3.0, 3.0, 0), ("电子商务", "网络科技"), ("网店",)),
    _i("G5431", "普通货物道路运输", (1.5, 1.0, 0), ("物流", "运输"), ("货运部",)),
    _i("H6110", "旅游饭店", (0.5, 0, 0), ("大酒店", "酒店管理")),
    _i("H6129", "其他一般旅馆", (0.5, 2.0, 0), ("宾馆",), ("旅馆", "招待所")),
    _i("H6130", "民宿服务", (0.2, 1.0, 0), ("民宿",), ("民宿",)),
    _i("H6210", "正餐服务", (2.0, 8.0, 0), ("餐饮管理",), ("饭店", "酒家", "菜馆")),
    _i("H6220", "快餐服务", (1.0, 4.0, 0), ("快餐", "餐饮"), ("快餐店",)),
    _i("H6231", "茶馆服务", (0.2, 1.0, 0), ("茶楼",), ("茶馆",)),
    _i("H6241", "餐饮配送服务", (0.4, 0, 0), ("配餐", "餐饮配送")),
    _i("H6291", "小吃服务", (0.2, 8.0, 0), ("小吃",), ("小吃店", "面馆", "早餐店")),
    _i("I6513", "应用软件开发", (2.0, 0, 0), ("科技", "信息技术")),
    _i("K7020", "物业管理", (1.5, 0, 0), ("物业管理", "物业服务")),
    _i("L7259", "其他广告服务", (1.5, 1.0, 0), ("广告", "文化传媒"), ("广告店", "图文店")),
    _i("O8040", "理发及美容服务", (0.5, 5.0, 0), ("美容",), ("理发店", "美发店", "美容院")),
    _i("O8051", "洗浴服务", (0.2, 0.5, 0), ("洗浴",), ("浴室",)),
    _i("O8111", "汽车修理与维护", (0.8, 3.0, 0), ("汽车服务",), ("汽修店", "汽车美容店")),
    _i("R9020", "游乐园", (0.1, 0, 0), ("游乐", "旅游开发")),
)
# fmt: on


def department(code: str) -> DepartmentSpec:
    for spec in DEPARTMENTS:
        if spec.code == code:
            return spec
    raise KeyError(code)


def items_of(department_code: str) -> tuple[ItemSpec, ...]:
    return tuple(item for item in ITEMS if item.department_code == department_code)


def item_applies(item: ItemSpec, industry_code: str, entity_type: str) -> bool:
    """Whether an entity is in the item's scope (empty scope lists mean "all")."""
    industries_ok = not item.scope_industries or any(
        industry_code.startswith(prefix) for prefix in item.scope_industries
    )
    types_ok = not item.scope_entity_types or entity_type in item.scope_entity_types
    return industries_ok and types_ok
