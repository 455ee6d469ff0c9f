"""The demo data set: real county polygons of five seed cities, generated directories.

``generate(seed, enterprises, inspectors)`` builds every record in memory, deterministically;
``load_demo(session, data)`` writes them through the importers (upsert on natural keys, never
commits). See docs/demo.md.
"""

from enforcement.demo.accounts import DEMO_LOGINS, DEMO_PASSWORD, DemoLogin
from enforcement.demo.generate import (
    DEFAULT_ENTERPRISES,
    DEFAULT_INSPECTORS,
    DEFAULT_SEED,
    ConflictRecord,
    DemoData,
    EnterpriseRecord,
    InspectorRecord,
    UserRecord,
    generate,
)

__all__ = [
    "DEFAULT_ENTERPRISES",
    "DEFAULT_INSPECTORS",
    "DEFAULT_SEED",
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "ConflictRecord",
    "DemoData",
    "DemoLogin",
    "EnterpriseRecord",
    "InspectorRecord",
    "UserRecord",
    "generate",
]
