"""The request context every DB API call takes first, as in ``cinder/context.py``.

Only the fields the DB layer reads are kept: who is calling (``user_id``,
``project_id``, ``is_admin``, ``quota_class``) and which rows soft delete hides
(``read_deleted``).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

READ_DELETED_VALUES = ("no", "yes", "only")


@dataclass
class RequestContext:
    """Security context and request information for one DB API call.

    ``read_deleted`` decides whether soft-deleted rows are visible: ``'no'``
    hides them, ``'yes'`` shows everything, ``'only'`` shows only deleted rows.
    """

    user_id: str | None = None
    project_id: str | None = None
    is_admin: bool = False
    read_deleted: str = "no"
    roles: list[str] = field(default_factory=list)
    quota_class: str | None = None
    request_id: str = field(default_factory=lambda: f"req-{uuid.uuid4()}")

    def __post_init__(self) -> None:
        if self.read_deleted not in READ_DELETED_VALUES:
            raise ValueError(
                f"read_deleted can only be one of {READ_DELETED_VALUES}, not {self.read_deleted!r}"
            )
        if self.is_admin and "admin" not in self.roles:
            self.roles = [*self.roles, "admin"]

    def elevated(self, read_deleted: str | None = None) -> RequestContext:
        """A copy of this context with admin rights (Cinder's ``ctx.elevated()``)."""
        context = copy.deepcopy(self)
        context.is_admin = True
        if "admin" not in context.roles:
            context.roles.append("admin")
        if read_deleted is not None:
            context = context.with_read_deleted(read_deleted)
        return context

    def with_read_deleted(self, read_deleted: str) -> RequestContext:
        """A copy of this context that sees soft-deleted rows as ``read_deleted`` says."""
        context = copy.copy(self)
        context.roles = list(self.roles)
        context.read_deleted = read_deleted
        context.__post_init__()
        return context

    @property
    def is_user_context(self) -> bool:
        """True for a non-admin context that names both a user and a project."""
        return not self.is_admin and bool(self.user_id) and bool(self.project_id)


def get_admin_context(read_deleted: str = "no") -> RequestContext:
    """An admin context with no user or project, as Cinder's services use."""
    return RequestContext(user_id=None, project_id=None, is_admin=True, read_deleted=read_deleted)
