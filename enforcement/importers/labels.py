"""Accepted spellings (English and Chinese) of the coded values and of column headers."""

from __future__ import annotations

from enforcement.models import EnterpriseStatus, EntityType, InspectionMethod, JurisdictionLevel


def _table(spellings: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """value -> spellings, inverted to normalised spelling -> value (the value spells itself)."""
    table: dict[str, str] = {}
    for value, names in spellings.items():
        for name in (value, *names):
            table[normalise_label(name)] = value
    return table


def normalise_label(text: str) -> str:
    return " ".join(text.strip().lower().replace("-", "_").split()).replace(" ", "_")


ENTITY_TYPES = _table(
    {
        EntityType.COMPANY: (
            "enterprise", "企业", "公司", "有限公司", "有限责任公司", "股份有限公司", "企业法人",
            "非法人企业", "个人独资企业", "合伙企业", "外商投资企业", "内资企业",
        ),
        EntityType.INDIVIDUAL: ("individual", "个体工商户", "个体户", "个体"),
        EntityType.COOPERATIVE: ("cooperative", "农民专业合作社", "农民合作社", "合作社"),
        EntityType.PUBLIC_INSTITUTION: ("事业单位", "事业单位法人", "机关", "机关法人"),
        EntityType.SOCIAL_ORGANISATION: (
            "social_organization", "社会组织", "社会团体", "民办非企业单位", "基金会",
        ),
        EntityType.OTHER: ("其他",),
    }
)  # fmt: skip

STATUSES = _table(
    {
        EnterpriseStatus.IN_BUSINESS: (
            "active", "open", "存续", "在业", "开业", "在营", "正常", "存续（在营、开业、在册）",
        ),
        EnterpriseStatus.DEREGISTERED: ("closed", "注销", "已注销"),
        EnterpriseStatus.REVOKED: ("吊销", "已吊销", "吊销，未注销", "吊销未注销"),
    }
)  # fmt: skip

METHODS = _table(
    {
        InspectionMethod.ON_SITE: ("onsite", "site", "现场检查", "现场"),
        InspectionMethod.DOCUMENTS: ("document", "paper", "书面检查", "书面审查", "书面"),
        InspectionMethod.ONLINE: ("网络监测", "网络检查", "网络", "在线"),
    }
)

LEVELS = _table(
    {
        JurisdictionLevel.PROVINCE: ("省", "省级", "自治区", "直辖市", "特别行政区"),
        JurisdictionLevel.CITY: ("prefecture", "市", "地级市", "地区", "自治州", "州", "盟"),
        JurisdictionLevel.COUNTY: (
            "district", "区县", "区", "县", "县级市", "旗", "自治县", "county_level",
        ),
        JurisdictionLevel.TOWNSHIP: ("town", "street", "乡镇", "乡", "镇", "街道", "苏木"),
    }
)  # fmt: skip

BOOLEANS = {
    **{normalise_label(s): True for s in ("true", "t", "yes", "y", "1", "是", "有效", "在岗",
                                           "在职", "启用", "active")},
    **{normalise_label(s): False for s in ("false", "f", "no", "n", "0", "否", "无效", "离岗",
                                            "离职", "停用", "inactive")},
}  # fmt: skip

# Header aliases: target field -> other accepted column names (compared case-insensitively).
HEADER_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "enterprises": {
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码"),
        "name": ("企业名称", "名称", "主体名称", "市场主体名称", "单位名称"),
        "legal_representative": ("法定代表人", "法定代表人（负责人）", "负责人", "经营者"),
        "entity_type": ("主体类型", "市场主体类型", "企业类型", "类型"),
        "industry_code": ("行业代码", "国民经济行业代码"),
        "registered_address": ("住所", "注册地址", "地址", "经营场所", "住所（经营场所）"),
        "longitude": ("经度", "lon", "lng"),
        "latitude": ("纬度", "lat"),
        "status": ("登记状态", "经营状态", "状态"),
        "registration_date": ("成立日期", "登记日期", "注册日期"),
        "registered_capital": ("注册资本",),
        "jurisdiction": ("adcode", "辖区", "管辖区划", "行政区划代码", "区划代码"),
    },
    "jurisdictions": {
        "adcode": ("行政区划代码", "区划代码", "code"),
        "name": ("名称", "区划名称"),
        "level": ("级别", "层级"),
        "parent_adcode": ("parent", "上级区划代码"),
        "wkt": ("geometry", "geom", "边界"),
    },
    "inspectors": {
        "credential_no": ("执法证号", "执法证件号", "证件号", "证号"),
        "name": ("姓名",),
        "department": ("department_code", "部门代码", "部门"),
        "department_name": ("部门名称",),
        "department_name_en": ("部门英文名称",),
        "jurisdiction": ("adcode", "辖区", "区划代码"),
        "specialties": ("专长", "专业领域", "执法领域"),
        "active": ("在岗", "是否在岗"),
        "conflicts": ("回避", "回避对象", "利害关系"),
    },
    "items": {
        "code": ("事项编码", "事项代码", "编码"),
        "department": ("department_code", "部门代码", "部门"),
        "department_name": ("部门名称",),
        "department_name_en": ("部门英文名称",),
        "name": ("事项名称", "名称"),
        "legal_basis": ("法律依据", "检查依据", "依据"),
        "scope_industries": ("行业范围", "检查行业"),
        "scope_entity_types": ("主体类型范围", "检查对象类型", "对象类型"),
        "method": ("检查方式", "方式"),
        "default_interval_months": ("检查频次", "频次", "检查周期（月）"),
        "active": ("启用", "是否启用"),
    },
}
