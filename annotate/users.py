"""Who is acting: the local admin in local mode, or an invited user in team mode."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.models import Invite, User
from db.settings import get_settings

LOCAL_ADMIN_HANDLE = "local-admin"


@dataclass(frozen=True)
class Login:
    """What a sign-in proves: a verified ``email`` (and ``name``), or why it proves nothing."""

    email: str | None
    name: str | None
    refusal: str | None


def login_from_claims(claims: Mapping[str, Any]) -> Login:
    """The address an identity provider's claims prove, or the reason they prove none.

    Only ``email_verified`` set to the JSON boolean ``true`` proves the address (OpenID
    Connect Core, section 5.1, defines the claim as a boolean). A string ``"true"``, ``1``,
    ``null`` or a missing claim prove nothing: some providers omit the claim for addresses
    they never checked, and anything but the boolean may be a mistake or a forgery.
    """
    name = claims.get("name")
    name = name if isinstance(name, str) and name.strip() else None
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        return Login(None, name, "The identity provider sent no email address.")
    if claims.get("email_verified") is not True:
        return Login(
            None,
            name,
            "The identity provider does not confirm this address (email_verified is not"
            " true). Verify the address with your identity provider, then sign in again.",
        )
    return Login(email.strip(), name, None)


def ensure_local_admin(engine: Engine) -> User:
    """The single admin of local mode (no ``[auth]`` configured); created on first use.

    Identity bootstrap, not an admin action: no actor to check. Returned detached.
    """
    with Session(engine, expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.handle == LOCAL_ADMIN_HANDLE)).first()
        if user is None:
            user = User(handle=LOCAL_ADMIN_HANDLE, display_name="Local admin", role="admin")
            session.add(user)
            session.commit()
        return user


def user_for_login(engine: Engine, email: str, name: str | None = None) -> User | None:
    """The user behind a signed-in email, creating it from an invite; None if not invited.

    Admins listed in ``JUDGEBOARD_ADMINS`` are always let in as admins. Only an address
    signs in: never the local admin's handle, and an imported rater id that happens to be
    an address only with an invite (an imported vote file grants nobody access).
    Identity bootstrap, not an admin action. The user is returned detached.
    """
    with Session(engine, expire_on_commit=False) as session:
        return _user_for_login(session, email, name)


def _user_for_login(session: Session, email: str, name: str | None) -> User | None:
    email = email.strip().lower()
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        return None
    user = session.exec(select(User).where(User.handle == email)).first()
    if user is not None and (not user.imported or not user.active):
        return user if user.active else None
    role = "admin" if email in get_settings().admins else None
    if role is None:
        invite = session.exec(
            select(Invite).where(
                ((Invite.kind == "email") & (Invite.value == email))
                | ((Invite.kind == "domain") & (Invite.value == domain))
            )
        ).first()
        if invite is None:
            return None
        role = invite.role
    if user is None:
        user = User(handle=email, email=email, display_name=name, role=role)
    else:  # an invited person claims the imported rater with their address
        user.email, user.role, user.imported = email, role, False
        user.display_name = name or user.display_name
    session.add(user)
    session.commit()
    return user
