"""Which department an officer acts for: the one thing every scoped service asks of a user."""

from __future__ import annotations

from enforcement.models import User


def officer_department_id(user: User | None) -> int | None:
    """The department a user works for: their own, else their inspector record's."""
    if user is None:
        return None
    if user.department_id is not None:
        return user.department_id
    if user.inspector is not None:
        return user.inspector.department_id
    return None
