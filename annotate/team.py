"""Team administration: invites, roles, deactivation. Admins only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from annotate.users import normalise_domain, normalise_email
from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import ROLES, Invite, Judgment, User, utcnow


@dataclass(frozen=True)
class Member:
    id: int
    handle: str
    display_name: str | None
    role: str
    active: bool
    imported: bool
    judgments: int
    created_at: datetime


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInputError(f"Role '{role}' is not one of {', '.join(ROLES)}.")


def invite(engine: Engine, value: str, role: str = "rater", *, actor_id: int) -> Invite:
    """Invite an email address, or every address of a domain ("@example.com" or "example.com").

    Addresses and domains are stored in the form ``annotate.users.normalise_email`` and
    ``normalise_domain`` give, the form sign-in compares against.

    Inviting an address or domain again changes its role. Admins only. Two admins inviting
    the same address at once end with one invite (the later role).
    """
    for attempt in range(2):
        try:
            return _invite(engine, value, role, actor_id)
        except IntegrityError:
            # PostgreSQL: another admin inserted this invite between our read and our
            # insert; the second pass finds it and sets the role.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _invite(engine: Engine, value: str, role: str, actor_id: int) -> Invite:
    with write_session(engine) as session:
        admin = require_admin(session, actor_id)
        _check_role(role)
        value = value.strip()
        if value.count("@") == 1 and not value.startswith("@"):
            kind, value = "email", normalise_email(value)  # says what is wrong with it
        else:
            try:
                kind, value = "domain", normalise_domain(value.removeprefix("@"))
            except InvalidInputError:
                raise InvalidInputError(
                    f"'{value}' is neither an email address (ana@example.com) nor a domain"
                    " (example.com)."
                ) from None
        existing = session.exec(
            select(Invite).where(Invite.kind == kind, Invite.value == value)
        ).first()
        if existing is not None:
            existing.role = role
            session.add(existing)
            session.commit()
            return existing
        created = Invite(kind=kind, value=value, role=role, invited_by=admin.id)
        session.add(created)
        session.commit()
        return created


def revoke_invite(engine: Engine, invite_id: int, *, actor_id: int) -> None:
    """Delete an invite (users who already signed in keep their account). Admins only."""
    with write_session(engine) as session:
        require_admin(session, actor_id)
        found = session.get(Invite, invite_id)
        if found is None:
            raise NotFoundError(f"No invite with id {invite_id}: refresh the page.")
        session.delete(found)
        session.commit()


def list_invites(engine: Engine, *, actor_id: int) -> list[Invite]:
    """Every open invite, emails and domains (admins only)."""
    with Session(engine, expire_on_commit=False) as session:
        require_admin(session, actor_id)
        return list(session.exec(select(Invite).order_by(Invite.kind, Invite.value)).all())


def list_members(engine: Engine, *, actor_id: int) -> list[Member]:
    """Every user with their role, state and number of judgments (admins only)."""
    with Session(engine) as session:
        require_admin(session, actor_id)
        counts = dict(
            session.exec(
                select(Judgment.user_id, func.count())
                .where(Judgment.user_id.is_not(None))
                .group_by(Judgment.user_id)
            ).all()
        )
        return [
            Member(
                u.id,
                u.handle,
                u.display_name,
                u.role,
                u.active,
                u.imported,
                counts.get(u.id, 0),
                u.created_at,
            )
            for u in session.exec(select(User).order_by(User.handle)).all()
        ]


def _other_user(session: Session, actor_id: int, user_id: int) -> User:
    require_admin(session, actor_id)
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user with id {user_id}: refresh the page.")
    if user.id == actor_id:
        raise InvalidInputError(
            "You cannot change your own role or deactivate yourself: ask another admin."
        )
    return user


def set_role(engine: Engine, user_id: int, role: str, *, actor_id: int) -> User:
    """Change another user's role (admins only)."""
    with write_session(engine) as session:
        user = _other_user(session, actor_id, user_id)
        _check_role(role)
        user.role = role
        session.add(user)
        session.commit()
        return user


def set_active(engine: Engine, user_id: int, active: bool, *, actor_id: int) -> User:
    """Deactivate or re-activate a user; their judgments are kept (and stay attributed).

    Admins only.
    """
    with write_session(engine) as session:
        user = _other_user(session, actor_id, user_id)
        user.active = active
        user.deactivated_at = None if active else utcnow()
        session.add(user)
        session.commit()
        return user
