"""The demo logins: one account per role, all with the same public password."""

from __future__ import annotations

from dataclasses import dataclass

from enforcement.models import Role

DEMO_PASSWORD = "suijian-demo"  # public on purpose: demo databases only
DEMO_HOME_ADCODE = "330783"  # 东阳市: the demo's officers and enterprise account are here


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    password: str
    description_zh: str
    description_en: str
    display_name: str
    department_code: str | None = None
    # Index into the generated inspectors (the first two are SCJG officers in 东阳市).
    inspector_index: int | None = None


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(
        "supervisor",
        Role.SUPERVISOR,
        DEMO_PASSWORD,
        "监管科室负责人（市场监督管理局）：维护事项清单和名录库，制定抽查计划，抽取并公示",
        "Supervisor (market regulation): keeps the item list and directories, plans, draws "
        "and publishes",
        "王建军",
        department_code="SCJG",
    ),
    DemoLogin(
        "inspector",
        Role.INSPECTOR,
        DEMO_PASSWORD,
        "执法检查人员（东阳市市场监督管理局）：接收任务、现场检查；已申报一项回避",
        "Inspector (market regulation, Dongyang): receives tasks, inspects on site; has a "
        "declared conflict of interest",
        "",
        inspector_index=0,
    ),
    DemoLogin(
        "inspector2",
        Role.INSPECTOR,
        DEMO_PASSWORD,
        "执法检查人员（东阳市市场监督管理局）：与 inspector 组成两人检查组",
        "Inspector (market regulation, Dongyang): the second officer of the team",
        "",
        inspector_index=1,
    ),
    DemoLogin(
        "enterprise",
        Role.ENTERPRISE,
        DEMO_PASSWORD,
        "市场主体（东阳市的一家企业）：查看本企业信用风险等级、检查结果，申请信用修复",
        "Enterprise (a company in Dongyang): sees its own credit tier and inspection results",
        "",
    ),
    DemoLogin(
        "liaison",
        Role.LIAISON,
        DEMO_PASSWORD,
        "两法衔接联络员：接收涉嫌犯罪案件，导出移送材料并跟踪",
        "Judicial liaison: receives suspected-crime cases, exports transfer packages",
        "陈敏",
        department_code="SCJG",
    ),
    DemoLogin(
        "admin",
        Role.ADMIN,
        DEMO_PASSWORD,
        "系统管理员：全部功能",
        "Administrator: everything",
        "系统管理员",
    ),
)
