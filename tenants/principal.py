"""Who is asking: a staff member with a role, a customer, or nobody."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenants.models import StaffRole, SubjectKind


@dataclass(frozen=True)
class Principal:
    kind: SubjectKind | None  # None: anonymous
    subject_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    role: StaffRole | None = None
    session_id: uuid.UUID | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind is SubjectKind.STAFF

    @property
    def is_customer(self) -> bool:
        return self.kind is SubjectKind.CUSTOMER


ANONYMOUS = Principal(kind=None)
