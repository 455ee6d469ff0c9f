"""Deterministic generation of the demo data set: a pure function of the seed and the sizes.

Nothing here touches the database, the clock or hash-ordered collections, so the same seed and
sizes give identical records (with the same NumPy and GEOS versions: the random streams and the
datum shift are theirs).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from enforcement.demo import catalogue, geography, names
from enforcement.demo.accounts import DEMO_HOME_ADCODE, DEMO_LOGINS
from enforcement.demo.catalogue import DepartmentSpec, IndustrySpec, ItemSpec
from enforcement.demo.geography import Area
from enforcement.models import EnterpriseStatus, EntityType, JurisdictionLevel, Role
from enforcement.uscc import CHARSET, organisation_check_character, uscc_check_character

DEFAULT_SEED = 2015  # the year of 国办发〔2015〕58号, which introduced 双随机、一公开
DEFAULT_ENTERPRISES = 20_000
DEFAULT_INSPECTORS = 200

# Fixed "today" of the data set: generation must not depend on the clock.
REFERENCE_DATE = dt.date(2026, 10, 31)
FIRST_YEAR = 1995
# USCCs replaced separate registration numbers from 1 October 2015; entities registered since
# then carry a new "MA…" organisation identifier, older ones their converted numeric code.
USCC_START = dt.date(2015, 10, 1)
# 农民专业合作社法 took effect on 1 July 2007.
COOPERATIVE_START = dt.date(2007, 7, 1)

ENTITY_TYPES = (EntityType.COMPANY, EntityType.INDIVIDUAL, EntityType.COOPERATIVE)
ENTITY_TYPE_SHARES = (0.40, 0.55, 0.05)
USCC_ENTITY_DIGIT = {
    EntityType.COMPANY: "1",
    EntityType.INDIVIDUAL: "2",
    EntityType.COOPERATIVE: "3",
}
# Growth of new registrations per year (more recent years are more frequent).
YEAR_GROWTH = {EntityType.COMPANY: 0.10, EntityType.INDIVIDUAL: 0.14, EntityType.COOPERATIVE: 0.06}
STATUSES = (EnterpriseStatus.IN_BUSINESS, EnterpriseStatus.DEREGISTERED, EnterpriseStatus.REVOKED)
STATUS_SHARES = (0.94, 0.04, 0.02)
SHARED_REPRESENTATIVE_SHARE = 0.02
INACTIVE_INSPECTOR_SHARE = 0.05
CONFLICTED_INSPECTOR_SHARE = 0.10
CITY_LEVEL_INSPECTOR_SHARE = 0.15

# Relative density of market entities per km², on top of the area: urban districts (区) are
# denser; 义乌 (small-commodity market), 永康 (hardware) and 东阳 (furniture, Hengdian) are
# known trading and manufacturing towns; the Zhejiang cities are richer than 平凉.
DISTRICT_DENSITY = 2.5
CITY_DENSITY = {"330700": 1.6, "330800": 1.0, "340700": 1.2, "441800": 1.0, "620800": 0.5}
NAME_TRIES_PER_LENGTH = 4  # name collisions before the trade name gets one more character
COUNTY_DENSITY = {"330782": 4.0, "330784": 1.5, "330783": 1.5}


@dataclass(frozen=True)
class EnterpriseRecord:
    uscc: str
    name: str
    legal_representative: str
    legal_representative_ref: str  # pseudonymous person id: same person, same ref
    entity_type: EntityType
    industry_code: str
    registered_address: str
    lon: float
    lat: float
    county_adcode: str
    status: EnterpriseStatus
    registration_date: dt.date
    registered_capital: Decimal | None

    @property
    def natural_key(self) -> str:
        return self.uscc


@dataclass(frozen=True)
class InspectorRecord:
    credential_no: str
    name: str
    department_code: str
    jurisdiction_adcode: str
    specialties: tuple[str, ...]  # item codes of the inspector's department
    active: bool


@dataclass(frozen=True)
class ConflictRecord:
    credential_no: str
    enterprise_uscc: str | None
    person_name: str | None
    relation: str


@dataclass(frozen=True)
class UserRecord:
    username: str
    display_name: str
    role: Role
    department_code: str | None
    enterprise_uscc: str | None
    inspector_credential_no: str | None


@dataclass(frozen=True)
class DemoData:
    seed: int
    areas: tuple[Area, ...]
    departments: tuple[DepartmentSpec, ...]
    items: tuple[ItemSpec, ...]
    enterprises: tuple[EnterpriseRecord, ...]
    inspectors: tuple[InspectorRecord, ...]
    conflicts: tuple[ConflictRecord, ...]
    users: tuple[UserRecord, ...]


def generate(
    seed: int = DEFAULT_SEED,
    enterprises: int = DEFAULT_ENTERPRISES,
    inspectors: int = DEFAULT_INSPECTORS,
) -> DemoData:
    """Build the whole demo data set in memory."""
    if enterprises < 1 or inspectors < 2:
        raise ValueError("the demo needs at least 1 enterprise and 2 inspectors")
    # Independent streams: the inspectors do not change when only their count changes.
    streams = np.random.SeedSequence(seed).spawn(3)
    rngs = [np.random.default_rng(s) for s in streams]
    areas = geography.bundled_areas()
    firms = _enterprises(rngs[0], enterprises)
    officers = _inspectors(rngs[1], inspectors)
    conflicts = _conflicts(rngs[2], officers, firms)
    return DemoData(
        seed=seed,
        areas=areas,
        departments=catalogue.DEPARTMENTS,
        items=catalogue.ITEMS,
        enterprises=firms,
        inspectors=officers,
        conflicts=conflicts,
        users=_users(officers, firms),
    )


# --------------------------------------------------------------------------- helpers


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` proportionally to ``weights`` (largest remainder; deterministic)."""
    share = total * weights / weights.sum()
    counts = np.floor(share).astype(np.int64)
    remainder = total - int(counts.sum())
    order = np.lexsort((np.arange(len(share)), -(share - counts)))
    counts[order[:remainder]] += 1
    return counts


class _Weighted:
    """Index draws with fixed weights; bisect on a cumulative list (rng.choice(p=) is slow)."""

    def __init__(self, weights: Iterable[float]) -> None:
        self.cumulative = list(itertools.accumulate(float(w) for w in weights))

    def draw(self, rng: np.random.Generator | _Names) -> int:
        return bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])


_SURNAMES = tuple(s for s, _ in names.SURNAMES)
_SURNAME_WEIGHTS = _Weighted(w for _, w in names.SURNAMES)


class _Names:
    """Draws personal and trade names from one random stream.

    Uniform numbers are drawn from ``rng`` in blocks: one NumPy call per scalar cost more than
    the rest of an enterprise's record (a province has millions)."""

    _BLOCK = 1 << 16

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._block: list[float] = []
        self._next = 0

    def random(self) -> float:
        if self._next == len(self._block):
            self._block = self.rng.random(self._BLOCK).tolist()
            self._next = 0
        self._next += 1
        return self._block[self._next - 1]

    def pick(self, seq: tuple[str, ...] | str) -> str:
        return seq[int(self.random() * len(seq))]

    def surname(self) -> str:
        return _SURNAMES[_SURNAME_WEIGHTS.draw(self)]

    def given(self) -> str:
        length = 2 if self.random() < 0.85 else 1
        return "".join(self.pick(names.GIVEN_CHARACTERS) for _ in range(length))

    def person(self) -> str:
        return self.surname() + self.given()

    def trade(self, length: int = 2) -> str:
        """A trade name (字号) of ``length`` different characters."""
        chosen: list[str] = []
        while len(chosen) < length:
            character = self.pick(names.TRADE_NAME_CHARACTERS)
            if character not in chosen:
                chosen.append(character)
        return "".join(chosen)


def _county_weights(counties: tuple[Area, ...]) -> np.ndarray:
    weights = []
    for county in counties:
        w = geography.area_km2(county.polygon)
        w *= DISTRICT_DENSITY if county.name.endswith("区") else 1.0
        w *= CITY_DENSITY.get(county.parent_adcode or "", 1.0)
        w *= COUNTY_DENSITY.get(county.adcode, 1.0)
        weights.append(w)
    return np.array(weights)


def _townships(rng: np.random.Generator, county: Area) -> tuple[str, ...]:
    if county.adcode == DEMO_HOME_ADCODE:
        return names.DONGYANG_TOWNSHIPS
    picks = rng.choice(len(names.GENERIC_TOWNSHIPS), size=3, replace=False)
    towns = [names.GENERIC_TOWNSHIPS[int(i)] for i in sorted(picks)]
    stems = names.TOWN_STEMS
    while len(towns) < 9:
        a, b = rng.choice(len(stems), size=2, replace=False)
        town = f"{stems[int(a)]}{stems[int(b)]}镇"
        if town not in towns:
            towns.append(town)
    return tuple(towns)


def _registration_dates(
    rng: np.random.Generator, entity_type: EntityType, size: int
) -> list[dt.date]:
    start = (
        COOPERATIVE_START if entity_type is EntityType.COOPERATIVE else dt.date(FIRST_YEAR, 1, 1)
    )
    years = np.arange(start.year, REFERENCE_DATE.year + 1)
    p = np.exp(YEAR_GROWTH[entity_type] * (years - years[0]))
    year_draw = years[rng.choice(len(years), size=size, p=p / p.sum())]
    fraction = rng.random(size)
    dates = []
    for year, frac in zip(year_draw.tolist(), fraction.tolist(), strict=True):
        first = max(dt.date(year, 1, 1), start)
        last = min(dt.date(year, 12, 31), REFERENCE_DATE)
        dates.append(first + dt.timedelta(days=int(frac * ((last - first).days + 1))))
    return dates


def _capital(normal: float, entity_type: EntityType) -> Decimal | None:
    """Registered capital from a standard normal draw (log-normal around a median)."""
    if entity_type is EntityType.INDIVIDUAL:
        return None  # individual businesses register no capital
    median, sigma = (1_000_000, 1.3) if entity_type is EntityType.COMPANY else (300_000, 1.0)
    value = math.exp(math.log(median) + sigma * normal)
    units = max(1, min(500_000, round(value / 10_000)))  # whole 万元, at most 50 亿
    return Decimal(units * 10_000)


def _org_base(draw: _Names, registered: dt.date) -> str:
    if registered >= USCC_START:
        return "MA" + "".join(draw.pick(CHARSET) for _ in range(6))
    return f"{10**7 + int(draw.random() * 9 * 10**7):08d}"


def _uscc(entity_type: EntityType, division: str, org_base8: str) -> str:
    # make_uscc's parts, without its full re-validation: the parts here are valid by
    # construction (a bundled county's code, the charset), and a province has millions.
    first17 = "9" + USCC_ENTITY_DIGIT[entity_type] + division + org_base8
    first17 += organisation_check_character(org_base8)
    return first17 + uscc_check_character(first17)


# --------------------------------------------------------------------------- enterprises


def _place_names(county: Area, by_code: dict[str, Area]) -> tuple[str, str, str]:
    """(company prefix, shop prefix, address prefix) of a county."""
    city = by_code[county.parent_adcode or ""]
    province = by_code[city.parent_adcode or ""]
    company = city.name if county.name.endswith("区") else county.name
    return company, county.name, f"{province.name}{city.name}{county.name}"


_MANUFACTURER_FORMS = (
    tuple(f for f, _ in names.COMPANY_FORMS),
    _Weighted(w for _, w in names.COMPANY_FORMS),
)
_COMPANY_FORMS = (
    tuple(f for f, _ in names.COMPANY_FORMS if f != "厂"),
    _Weighted(w for f, w in names.COMPANY_FORMS if f != "厂"),
)


def _enterprise_name(
    draw: _Names,
    entity_type: EntityType,
    industry: IndustrySpec,
    company_place: str,
    shop_place: str,
    province: str,
    longer: int = 0,
) -> str:
    """A name; ``longer`` > 0 (after collisions) lengthens the trade name by that many
    characters, as registrants do when the short name is taken in their county."""
    trade = draw.trade(2 + longer)
    if entity_type is EntityType.INDIVIDUAL:
        pattern = "{trade}" if longer else draw.pick(names.SHOP_PREFIX_PATTERNS)
        prefix = pattern.format(
            surname=draw.surname(), trade=trade, given=draw.pick(names.GIVEN_CHARACTERS)
        )
        return f"{shop_place}{prefix}{draw.pick(industry.shop_words)}"
    if entity_type is EntityType.COOPERATIVE:
        return f"{shop_place}{trade}{draw.pick(industry.cooperative_words)}专业合作社"
    forms = _MANUFACTURER_FORMS if industry.manufacturing else _COMPANY_FORMS
    form = forms[0][forms[1].draw(draw)]
    # Larger companies register with the province as their place name (浙江鸿泰…有限公司).
    place = province.removesuffix("省") if draw.random() < 0.08 else company_place
    return f"{place}{trade}{draw.pick(industry.company_words)}{form}"


def _enterprises(rng: np.random.Generator, total: int) -> tuple[EnterpriseRecord, ...]:
    counties = geography.counties()
    by_code = geography.area_by_adcode()
    counts = allocate(total, _county_weights(counties))
    draw = _Names(rng)
    industries = catalogue.INDUSTRIES
    industry_weights = {
        EntityType.COMPANY: _Weighted(i.company_weight for i in industries),
        EntityType.INDIVIDUAL: _Weighted(i.individual_weight for i in industries),
        EntityType.COOPERATIVE: _Weighted(i.cooperative_weight for i in industries),
    }

    records: list[dict] = []
    used_names: set[str] = set()
    used_codes: set[str] = set()
    for county, count in zip(counties, counts.tolist(), strict=True):
        if count == 0:
            continue
        lon, lat = geography.sample_points(rng, county, count)
        company_place, shop_place, address_place = _place_names(county, by_code)
        province = by_code[by_code[county.parent_adcode or ""].parent_adcode or ""].name
        townships = _townships(rng, county)
        types = [ENTITY_TYPES[i] for i in rng.choice(3, size=count, p=ENTITY_TYPE_SHARES)]
        statuses = rng.choice(len(STATUSES), size=count, p=STATUS_SHARES)
        normals = rng.normal(size=count).tolist()
        door_numbers = np.minimum(np.ceil(rng.pareto(1.2, size=count) * 20) + 1, 999)
        door_numbers = door_numbers.astype(np.int64).tolist()  # mostly small
        dates: dict[EntityType, list[dt.date]] = {
            t: _registration_dates(rng, t, types.count(t)) for t in ENTITY_TYPES
        }
        for k in range(count):
            entity_type = types[k]
            industry = industries[industry_weights[entity_type].draw(draw)]
            registered = dates[entity_type].pop()
            name, tries = "", 0
            while not name or name in used_names:  # unique within a registration authority
                # A crowded county runs out of two-character trade names: lengthen them.
                longer = tries // NAME_TRIES_PER_LENGTH
                name = _enterprise_name(
                    draw, entity_type, industry, company_place, shop_place, province, longer
                )
                tries += 1
            used_names.add(name)
            uscc = ""
            while not uscc or uscc in used_codes:
                uscc = _uscc(entity_type, county.adcode, _org_base(draw, registered))
            used_codes.add(uscc)
            address = (
                f"{address_place}{draw.pick(townships)}{draw.pick(names.ROADS)}{door_numbers[k]}号"
            )
            records.append(
                {
                    "uscc": uscc,
                    "name": name,
                    "legal_representative": draw.person(),
                    "legal_representative_ref": "",
                    "entity_type": entity_type,
                    "industry_code": industry.code,
                    "registered_address": address,
                    "lon": float(lon[k]),
                    "lat": float(lat[k]),
                    "county_adcode": county.adcode,
                    "status": STATUSES[int(statuses[k])],
                    "registration_date": registered,
                    "registered_capital": _capital(normals[k], entity_type),
                }
            )
    _share_representatives(rng, records, by_code)
    return tuple(EnterpriseRecord(**r) for r in records)


def _share_representatives(
    rng: np.random.Generator, records: list[dict], by_code: dict[str, Area]
) -> None:
    """Give every enterprise a person reference; ~2 % share theirs with another enterprise.

    A shared legal representative is the classic related-party link; pairs are drawn within
    the same city, where it is most plausible.
    """
    for i, record in enumerate(records):
        record["legal_representative_ref"] = f"P{i + 1:07d}"
    by_city: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_city[by_code[record["county_adcode"]].parent_adcode or ""].append(i)
    pairs = round(len(records) * SHARED_REPRESENTATIVE_SHARE / 2)
    taken: set[int] = set()
    cities = sorted(c for c, members in by_city.items() if len(members) >= 2)
    sizes = np.array([len(by_city[c]) for c in cities], dtype=float)
    for _ in range(pairs):
        city = cities[int(rng.choice(len(cities), p=sizes / sizes.sum()))]
        members = by_city[city]
        a, b = (members[int(i)] for i in rng.choice(len(members), size=2, replace=False))
        if a in taken or b in taken:
            continue
        taken.update((a, b))
        records[b]["legal_representative"] = records[a]["legal_representative"]
        records[b]["legal_representative_ref"] = records[a]["legal_representative_ref"]


# --------------------------------------------------------------------------- inspectors


def _inspectors(rng: np.random.Generator, total: int) -> tuple[InspectorRecord, ...]:
    counties = geography.counties()
    by_code = geography.area_by_adcode()
    cities = tuple(a for a in geography.bundled_areas() if a.level is JurisdictionLevel.CITY)
    # Officers are spread more evenly than enterprises: every county has a bureau.
    county_p = np.sqrt(_county_weights(counties))
    county_p /= county_p.sum()
    departments = catalogue.DEPARTMENTS
    department_p = np.array([d.weight for d in departments])
    department_p /= department_p.sum()
    draw = _Names(rng)
    serials: dict[tuple[str, str], int] = {}
    records = []
    for k in range(total):
        if k < 2:
            # The demo logins "inspector" and "inspector2": a team of two in the home county.
            department, area, active = catalogue.department("SCJG"), by_code[DEMO_HOME_ADCODE], True
        else:
            department = departments[int(rng.choice(len(departments), p=department_p))]
            if rng.random() < CITY_LEVEL_INSPECTOR_SHARE:
                area = cities[int(rng.integers(len(cities)))]
            else:
                area = counties[int(rng.choice(len(counties), p=county_p))]
            active = bool(rng.random() >= INACTIVE_INSPECTOR_SHARE)
        key = (area.adcode, department.number)
        serial = serials.get(key, int(rng.integers(1, 300))) + int(rng.integers(1, 40))
        serials[key] = serial
        own_items = catalogue.items_of(department.code)
        count = min(len(own_items), int(rng.integers(2, 5)))
        picked = sorted(int(i) for i in rng.choice(len(own_items), size=count, replace=False))
        records.append(
            InspectorRecord(
                credential_no=f"{area.adcode}{department.number}{serial:06d}",
                name=draw.person(),
                department_code=department.code,
                jurisdiction_adcode=area.adcode,
                specialties=tuple(own_items[i].code for i in picked),
                active=active,
            )
        )
    return tuple(records)


def _conflicts(
    rng: np.random.Generator,
    inspectors: tuple[InspectorRecord, ...],
    enterprises: tuple[EnterpriseRecord, ...],
) -> tuple[ConflictRecord, ...]:
    """Declared conflicts of ~10 % of the inspectors: enterprises and persons of their area."""
    by_code = geography.area_by_adcode()
    in_area: dict[str, list[int]] = defaultdict(list)
    for i, firm in enumerate(enterprises):
        in_area[firm.county_adcode].append(i)
        in_area[by_code[firm.county_adcode].parent_adcode or ""].append(i)
    draw = _Names(rng)
    wanted = max(2, round(len(inspectors) * CONFLICTED_INSPECTOR_SHARE))
    # The first demo inspector always has one, so the demo shows recusal at work.
    others = rng.choice(np.arange(1, len(inspectors)), size=wanted - 1, replace=False)
    chosen = [0, *sorted(int(i) for i in others)]
    records: list[ConflictRecord] = []
    seen: set[tuple[str, str | None, str | None]] = set()
    for n, index in enumerate(chosen):
        officer = inspectors[index]
        pool = in_area.get(officer.jurisdiction_adcode) or range(len(enterprises))
        kinds = ["enterprise" if n % 2 == 0 else "person"]
        if rng.random() < 0.2:
            kinds.append("person" if kinds[0] == "enterprise" else "enterprise")
        for kind in kinds:
            firm = enterprises[pool[int(rng.integers(len(pool)))]]
            if kind == "enterprise":
                record = ConflictRecord(
                    officer.credential_no, firm.uscc, None, draw.pick(names.ENTERPRISE_RELATIONS)
                )
            else:
                # Usually a relative who runs a business nearby, else anyone.
                person = firm.legal_representative if rng.random() < 0.7 else draw.person()
                record = ConflictRecord(
                    officer.credential_no, None, person, draw.pick(names.PERSON_RELATIONS)
                )
            key = (record.credential_no, record.enterprise_uscc, record.person_name)
            if key not in seen:
                seen.add(key)
                records.append(record)
    return tuple(records)


# --------------------------------------------------------------------------- users


def _users(
    inspectors: tuple[InspectorRecord, ...], enterprises: tuple[EnterpriseRecord, ...]
) -> tuple[UserRecord, ...]:
    enterprise = _demo_enterprise(enterprises)
    records = []
    for login in DEMO_LOGINS:
        department = login.department_code
        inspector = None
        display = login.display_name
        if login.inspector_index is not None:
            officer = inspectors[login.inspector_index]
            inspector, department, display = (
                officer.credential_no,
                officer.department_code,
                officer.name,
            )
        firm = enterprise.uscc if login.role is Role.ENTERPRISE else None
        if firm is not None:
            display = enterprise.name
        records.append(UserRecord(login.username, display, login.role, department, firm, inspector))
    return tuple(records)


def _demo_enterprise(enterprises: tuple[EnterpriseRecord, ...]) -> EnterpriseRecord:
    """An operating restaurant or shop company in the home county: many items apply to it."""

    def rank(firm: EnterpriseRecord) -> tuple[bool, ...]:
        return (
            firm.county_adcode != DEMO_HOME_ADCODE,
            firm.status is not EnterpriseStatus.IN_BUSINESS,
            firm.entity_type is not EntityType.COMPANY,
            not firm.industry_code.startswith(("H62", "F52")),
        )

    return min(enterprises, key=rank)
