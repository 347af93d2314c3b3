"""Database kernel: declarative base, types, engines, tenant-bound sessions and the tenancy walls."""

from bizzly.db.base import Base, TenantScoped, UTCDateTime
from bizzly.db.engine import Database, MaintenanceUse

__all__ = ["Base", "Database", "MaintenanceUse", "TenantScoped", "UTCDateTime"]
