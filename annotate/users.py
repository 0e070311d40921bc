"""Who is acting: the local admin in local mode, or an invited user in team mode."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.errors import InvalidInputError
from db.models import Invite, User
from db.settings import get_settings

LOCAL_ADMIN_HANDLE = "local-admin"

# RFC 5322 dot-atom of ASCII atext: no quoted local parts, no comments, no whitespace.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# One DNS label: letters, digits, hyphens, not at either end, at most 63 characters.
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def normalise_domain(domain: str) -> str:
    """A domain in its one stored form: ASCII, lowercase, two or more DNS labels.

    Internationalised domains are accepted in their ASCII (``xn--``) form only; the
    Unicode form is refused rather than folded, so no two spellings reach one domain.
    """
    if not domain.isascii():
        raise InvalidInputError(
            f"'{domain}' has non-ASCII characters: write an internationalised domain in its"
            " ASCII form (xn--...)."
        )
    domain = domain.lower()
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidInputError(f"'{domain}' is not a domain name (example.com).")
    return domain


def normalise_email(address: str) -> str:
    """An email address in the one form judgeboard stores and compares.

    The rule: surrounding whitespace is dropped; the address must have exactly one "@";
    the local part must be an ASCII dot-atom (letters, digits and ``!#$%&'*+/=?^_`{|}~-``,
    dots between them) of at most 64 characters, and the domain a valid ASCII domain
    name (``normalise_domain``); both are then lowercased. Non-ASCII addresses are refused,
    not folded: case-folding Unicode maps different addresses to one (the Kelvin sign
    "\u212a" lowercases to "k"), which would let one person sign in as another.
    """
    text = address.strip()
    if text.count("@") != 1:
        raise InvalidInputError(
            f"'{text}' is not an email address: it needs exactly one '@' (ana@example.com)."
        )
    local, domain = text.split("@")
    if not local.isascii() or not _LOCAL.fullmatch(local) or len(local) > 64:
        raise InvalidInputError(
            f"'{text}' is not an email address judgeboard accepts: the part before '@' must"
            " be ASCII letters, digits, dots and !#$%&'*+/=?^_`{|}~- (ana.b@example.com)."
        )
    return f"{local.lower()}@{normalise_domain(domain)}"


def _valid_email(address: str) -> str | None:
    try:
        return normalise_email(address)
    except InvalidInputError:
        return None


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
    normal = _valid_email(email)
    if normal is None:
        return Login(
            None,
            name,
            "The identity provider sent an address judgeboard does not accept (one '@',"
            " an ASCII name and a valid domain). Sign in with such an address.",
        )
    return Login(normal, name, None)


def local_mode_refusal(address: str | None) -> str | None:
    """Why local mode (no ``[auth]``: every visitor is the local admin) may not be served on
    ``address`` (Streamlit's ``server.address``), or None when it may.

    Only a loopback address is safe: 127.0.0.0/8, ::1 or "localhost". An unset address
    is refused too, because Streamlit then listens on every interface.
    """
    host = (address or "").strip().strip("[]")
    if host.lower() == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    where = f"on {host}" if host else "on every network interface"
    return (
        f"judgeboard is served {where} without sign-in: local mode would make every visitor"
        " the admin, so it is off. Add an [auth] section to .streamlit/secrets.toml to turn"
        " on team sign-in, or serve on 127.0.0.1 (--server.address 127.0.0.1)."
    )


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


def active_user(engine: Engine, user_id: int) -> User | None:
    """The user behind ``user_id`` as the database has it now, or None if unknown or
    deactivated: pages re-read the acting user on every run, so a role change or a
    deactivation applies at once. Identity lookup, not an admin action; returned detached.
    """
    with Session(engine, expire_on_commit=False) as session:
        user = session.get(User, user_id)
        return user if user is not None and user.active else None


def user_for_login(engine: Engine, email: str, name: str | None = None) -> User | None:
    """The user behind a signed-in email, creating it from an invite; None if not invited.

    Admins listed in ``JUDGEBOARD_ADMINS`` are always let in as admins. Only an address
    valid under ``normalise_email`` signs in, compared in its normal form; a domain invite
    matches the address's one domain, exactly. Never the local admin's handle, and an
    imported rater id that happens to be an address only with an invite (an imported vote
    file grants nobody access).
    Identity bootstrap, not an admin action. The user is returned detached.
    """
    with Session(engine, expire_on_commit=False) as session:
        return _user_for_login(session, email, name)


def _user_for_login(session: Session, email: str, name: str | None) -> User | None:
    normal = _valid_email(email)
    if normal is None:
        return None
    email = normal
    domain = email.split("@")[1]
    user = session.exec(select(User).where(User.handle == email)).first()
    if user is not None and (not user.imported or not user.active):
        return user if user.active else None
    admins = {_valid_email(a) for a in get_settings().admins} - {None}
    role = "admin" if email in admins else None
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
