"""The system of record. Importing this package registers every table on ``Base.metadata``."""

from enforcement.models.accounts import Role, User
from enforcement.models.audit import AuditLog, AuditLogImmutableError
from enforcement.models.base import SRID, Base, UTCDateTime, utcnow
from enforcement.models.plans import (
    FROZEN_STATUSES,
    Draw,
    InspectionTask,
    MemberRole,
    PlanError,
    PlanImmutableError,
    PlanStateError,
    PlanStatus,
    SamplingMethod,
    SamplingPlan,
    TaskMember,
    TaskStatus,
)
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
    "FROZEN_STATUSES",
    "SRID",
    "AuditLog",
    "AuditLogImmutableError",
    "Base",
    "Department",
    "Draw",
    "Enterprise",
    "EnterpriseStatus",
    "EntityType",
    "InspectionItem",
    "InspectionMethod",
    "InspectionTask",
    "Inspector",
    "InspectorConflict",
    "Jurisdiction",
    "JurisdictionLevel",
    "MemberRole",
    "PlanError",
    "PlanImmutableError",
    "PlanStateError",
    "PlanStatus",
    "Role",
    "SamplingMethod",
    "SamplingPlan",
    "TaskMember",
    "TaskStatus",
    "UTCDateTime",
    "User",
    "utcnow",
]
