"""System tables of the scheduler: a leader lease and a record of each fired tick."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base


class SchedulerLease(Base):
    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class SchedulerTick(Base):
    """One row per (job, tick): the insert that wins fires the tick, so two schedulers fire it once."""

    __tablename__ = "scheduler_ticks"

    job: Mapped[str] = mapped_column(String(80), primary_key=True)
    tick: Mapped[datetime] = mapped_column(primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(default=clock.now)
    holder: Mapped[str] = mapped_column(String(200))
