"""Least privilege, enforced in the domain layer: every guarded call names its actor.

Pages only decide what to show; these checks decide what may be read or changed.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.errors import PermissionDeniedError
from db.models import User


def acting_user(session: Session, actor_id: int) -> User:
    """The active user behind ``actor_id``; refuses deactivated or unknown users."""
    user = session.get(User, actor_id)
    if user is None or not user.active:
        raise PermissionDeniedError(
            "Your account is not active on this judgeboard: ask an admin to re-activate it."
        )
    return user


def require_admin(session: Session, actor_id: int) -> User:
    user = acting_user(session, actor_id)
    if user.role != "admin":
        raise PermissionDeniedError(
            "Only admins can do this: ask an admin to change your role if you need access."
        )
    return user


def admin_only(engine: Engine, actor_id: int) -> None:
    """Refuse unless ``actor_id`` is an active admin (for functions that take an engine)."""
    with Session(engine) as session:
        require_admin(session, actor_id)
