"""The system of record. Importing this package registers every table on ``Base.metadata``."""

from enforcement.models.accounts import Role, User
from enforcement.models.base import SRID, Base, UTCDateTime, utcnow
from enforcement.models.registry import (
    Department,
    Enterprise,
    EnterpriseStatus,
    EntityType,
    InspectionItem,
    InspectionMethod,
    Inspector,
    InspectorConflict,
    Jurisdiction,
    JurisdictionLevel,
)

__all__ = [
    "SRID",
    "Base",
    "Department",
    "Enterprise",
    "EnterpriseStatus",
    "EntityType",
    "InspectionItem",
    "InspectionMethod",
    "Inspector",
    "InspectorConflict",
    "Jurisdiction",
    "JurisdictionLevel",
    "Role",
    "UTCDateTime",
    "User",
    "utcnow",
]
