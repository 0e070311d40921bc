"""Candidate configs: save (a new version only when the content changes), find, list.

A config is immutable and named by the hash of its content (``judges.candidates``); saving
a config under a name makes version N+1 of that name, and saving the same content again
gives the existing version back. Admins only.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import CandidateConfig
from judges.candidates import CandidateSpec, candidate_label

MAX_NAME = 190  # room for "@v<version>" in the 200 characters of a candidate's name


def save_candidate(
    engine: Engine, name: str, spec: CandidateSpec, *, actor_id: int
) -> tuple[CandidateConfig, bool]:
    """Save ``spec`` as the next version of ``name``; returns (config, created)."""
    name = _name(name)
    n = spec.normalized()
    digest = n.content_hash()
    with write_session(engine) as s:
        require_admin(s, actor_id)
        same = s.exec(
            select(CandidateConfig).where(
                CandidateConfig.name == name, CandidateConfig.content_hash == digest
            )
        ).first()
        if same is not None:
            s.expunge(same)
            s.rollback()
            return same, False
        latest = s.exec(
            select(func.max(CandidateConfig.version)).where(CandidateConfig.name == name)
        ).one()
        config = CandidateConfig(
            name=name,
            version=(latest or 0) + 1,
            content_hash=digest,
            provider=n.provider,
            model=n.model,
            base_url=n.base_url,
            api_key_env=n.api_key_env,
            system_prompt=n.system,
            template=n.template,
            params=n.params,
            created_by=actor_id,
        )
        s.add(config)
        s.commit()
        s.refresh(config)
        s.expunge(config)
        return config, True


def _name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise InvalidInputError("A candidate needs a name, e.g. 'support-bot'.")
    if len(clean) > MAX_NAME:
        raise InvalidInputError(f"A candidate name has at most {MAX_NAME} characters.")
    if "@" in clean:
        raise InvalidInputError(
            f"A candidate name cannot contain '@' (NAME@vN names a version): '{clean}'."
        )
    return clean


def parse_candidate_ref(ref: str) -> tuple[str, int | None]:
    """``NAME`` (the latest version), ``NAME@2`` or ``NAME@v2``."""
    name, at, version = ref.strip().rpartition("@")
    if not at:
        return _name(version), None
    number = version.lower().removeprefix("v")
    if not number.isdigit() or int(number) < 1:
        raise InvalidInputError(
            f"'{ref}' is not NAME or NAME@vN with a version number from 1 (e.g. bot@v2)."
        )
    return _name(name), int(number)


def get_candidate(engine: Engine, ref: str) -> CandidateConfig:
    """The config ``ref`` names; the error lists the known candidates."""
    name, version = parse_candidate_ref(ref)
    with Session(engine, expire_on_commit=False) as s:
        return _get(s, name, version)


def _get(s: Session, name: str, version: int | None) -> CandidateConfig:
    query = select(CandidateConfig).where(CandidateConfig.name == name)
    if version is not None:
        query = query.where(CandidateConfig.version == version)
    config = s.exec(query.order_by(CandidateConfig.version.desc())).first()
    if config is None:
        known = sorted(set(s.exec(select(CandidateConfig.name)).all()))
        which = name if version is None else candidate_label(name, version)
        hint = f" Known candidates: {', '.join(known)}." if known else " There are none yet."
        raise NotFoundError(
            f"No candidate config '{which}': create it with `judgeboard candidate add {name}"
            f" --model MODEL ...`.{hint}"
        )
    return config


def list_candidates(
    engine: Engine, *, actor_id: int, all_versions: bool = False
) -> list[CandidateConfig]:
    """Configs by name then version; only the latest of each name unless ``all_versions``."""
    with Session(engine, expire_on_commit=False) as s:
        require_admin(s, actor_id)
        configs = list(
            s.exec(
                select(CandidateConfig).order_by(CandidateConfig.name, CandidateConfig.version)
            ).all()
        )
    if all_versions:
        return configs
    latest: dict[str, CandidateConfig] = {}
    for c in configs:
        latest[c.name] = c
    return list(latest.values())
