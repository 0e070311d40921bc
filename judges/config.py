"""Judge configurations: immutable, versioned, identified by a content hash.

"Editing" a judge saves a new row with the same name and ``version + 1``; verdicts keep
pointing at the exact version (row id) that produced them. Saving a config identical to an
existing version of the same name returns that version instead of creating a copy.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import Judge
from judges.templates import (
    PAIRWISE_SCALE_TEXT,
    TEMPLATE_KINDS,
    builtin_template,
    validate_template,
)
from metrics.vocabulary import INCONSISTENT_AS, judge_label

PROVIDERS = ("openai", "anthropic")
SWAP_POLICIES = ("both", "ab", "random")
INCONSISTENT_AS_LABEL = "A swapped pair that disagrees counts as"
INCONSISTENT_AS_HELP = (
    "A judge asked twice, with the answers swapped, may name a different winner each time."
    " tie: count that pair as a tie; unscored: count it as no verdict (left out)."
)
DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}
DEFAULT_KEY_ENVS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}

# Parameters a judge may carry. Request parameters go to the provider as they are; the
# others steer this project (verdict scale, JSON mode, system prompt, Azure api-version).
REQUEST_PARAMS = ("temperature", "max_tokens", "top_p", "seed", "stop")
JUDGE_PARAMS = ("scale", "json_mode", "system", "api_version", "timeout_s")
ALLOWED_PARAMS = REQUEST_PARAMS + JUDGE_PARAMS
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0, "max_tokens": 1024, "scale": "3way"}


def checked_endpoint(
    provider: str, model: str, base_url: str | None, what: str
) -> tuple[str, str, str]:
    """Provider, model and base URL of a judge or candidate config, normalised; raises
    InvalidInputError naming the fix. ``what`` names the config ("A judge")."""
    clean = provider.strip().lower()
    if clean not in PROVIDERS:
        raise InvalidInputError(
            f"Provider '{provider}' is not one of {', '.join(PROVIDERS)}: use 'openai'"
            " for any OpenAI-compatible server (Azure, vLLM, Ollama, llama.cpp, LiteLLM)."
        )
    name = model.strip()
    if not name:
        raise InvalidInputError(f"{what} needs a model name, e.g. --model gpt-4o-mini.")
    url = (base_url or DEFAULT_BASE_URLS[clean]).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"Base URL '{url}' must start with http:// or https://.")
    return clean, name, url


def checked_key_env(value: str | None, what: str) -> str | None:
    """The NAME of the environment variable holding a key, or None; refuses what looks like
    a key itself. The message never echoes the value: it may be a pasted key."""
    key_env = (value or "").strip() or None
    if key_env is not None and (
        not key_env.replace("_", "").isalnum() or _looks_like_a_key(key_env)
    ):
        raise InvalidInputError(
            f"{what} must be the NAME of the environment variable holding the key"
            " (e.g. OPENAI_API_KEY), not the key itself; keys are never stored."
        )
    return key_env


@dataclass(frozen=True)
class JudgeSpec:
    """What defines a judge version. ``template=None`` means the built-in for the kind.

    ``api_key_env`` names the environment variable (or secrets entry) holding the key;
    ``None`` means the server needs no key (a local vLLM / Ollama / llama.cpp server).
    """

    provider: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    template_kind: str = "pairwise"
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    swap_policy: str = "both"
    inconsistent_as: str = "tie"

    def normalized(self) -> JudgeSpec:
        """Fill defaults and validate; raises InvalidInputError naming the fix."""
        provider, model, base_url = checked_endpoint(
            self.provider, self.model, self.base_url, "A judge"
        )
        kind = self.template_kind
        if kind not in TEMPLATE_KINDS:
            raise InvalidInputError(
                f"Template kind '{kind}' is not one of {', '.join(TEMPLATE_KINDS)}."
            )
        template = self.template if self.template and self.template.strip() else None
        template = template or builtin_template(kind)
        validate_template(kind, template)
        if self.swap_policy not in SWAP_POLICIES:
            raise InvalidInputError(
                f"Swap policy '{self.swap_policy}' is not one of {', '.join(SWAP_POLICIES)}."
            )
        if self.inconsistent_as not in INCONSISTENT_AS:
            raise InvalidInputError(
                f"'{self.inconsistent_as}' is not a way to count a swapped pair that"
                f" disagrees: use {' or '.join(INCONSISTENT_AS)}."
            )
        params = {**DEFAULT_PARAMS, **(self.params or {})}
        unknown = sorted(set(params) - set(ALLOWED_PARAMS))
        if unknown:
            raise InvalidInputError(
                f"Unknown judge parameter '{unknown[0]}'. Allowed: {', '.join(ALLOWED_PARAMS)}."
            )
        if params.get("scale") not in PAIRWISE_SCALE_TEXT:
            raise InvalidInputError(
                f"Parameter scale '{params.get('scale')}' must be '3way' or '5way'."
            )
        key_env = checked_key_env(self.api_key_env, "api_key_env")
        return JudgeSpec(
            provider=provider,
            model=model,
            base_url=base_url,
            api_key_env=key_env,
            template_kind=kind,
            template=template,
            params=params,
            swap_policy=self.swap_policy,
            inconsistent_as=self.inconsistent_as,
        )

    def canonical(self) -> dict[str, Any]:
        n = self.normalized()
        return {
            "provider": n.provider,
            "model": n.model,
            "base_url": n.base_url,
            "api_key_env": n.api_key_env,
            "template_kind": n.template_kind,
            "template": n.template,
            "params": n.params,
            "swap_policy": n.swap_policy,
            "inconsistent_as": n.inconsistent_as,
        }

    def content_hash(self) -> str:
        return config_hash(self.canonical())


def key_note(
    api_key_env: str | None,
    secrets: Mapping[str, Any] | None = None,
    *,
    who: str = "This judge",
) -> str:
    """Where a judge (or ``who``) reads its API key from, and whether it is there now (never
    its value)."""
    if not api_key_env:
        return f"{who} sends no API key (for a local server that needs none)."
    found = bool(os.environ.get(api_key_env))
    if not found and secrets is not None:
        try:
            found = bool(secrets.get(api_key_env))
        except Exception:  # st.secrets raises when no secrets file exists
            found = False
    where = "the environment" + (" or .streamlit/secrets.toml" if secrets is not None else "")
    state = "it is set" if found else f"it is not set in {where} yet: set it before a run"
    return f"{who} reads its API key from {api_key_env} ({state})."


def _looks_like_a_key(value: str) -> bool:
    return value.lower().startswith(("sk-", "sk_", "sk-ant")) or (
        len(value) >= 32 and any(c.isdigit() for c in value) and value != value.upper()
    )


def canonical_json(obj: Any) -> str:
    """Key-sorted, whitespace-free JSON: equal configs give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(canonical: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a judge config.

    Hashed: provider, model, base_url, api_key_env (the variable's *name*, so changing it
    is a new version), template kind and text, params, swap policy and inconsistent_as.
    """
    return hashlib.sha256(canonical_json(canonical).encode("utf-8")).hexdigest()


def spec_of(judge: Judge) -> JudgeSpec:
    return JudgeSpec(
        provider=judge.provider,
        model=judge.model,
        base_url=judge.base_url,
        api_key_env=judge.api_key_env,
        template_kind=judge.template_kind,
        template=judge.template,
        params=dict(judge.params or {}),
        swap_policy=judge.swap_policy,
        inconsistent_as=judge.inconsistent_as,
    )


def save_judge(engine: Engine, name: str, spec: JudgeSpec, *, actor_id: int) -> Judge:
    """Save ``spec`` as the next version of judge ``name`` (admins only; commits).

    An identical config under the same name returns the existing version; an identical
    config under another name is refused, since one content hash identifies one judge.
    """
    with write_session(engine) as session:
        require_admin(session, actor_id)
        judge = _save_judge(session, name, spec)
        session.commit()
        return judge


def _save_judge(session: Session, name: str, spec: JudgeSpec) -> Judge:
    """``save_judge`` inside the caller's transaction (flushes, does not commit)."""
    name = name.strip()
    if not name:
        raise InvalidInputError("A judge needs a name, e.g. 'gpt4o-pairwise'.")
    n = spec.normalized()
    digest = n.content_hash()
    existing = session.exec(select(Judge).where(Judge.content_hash == digest)).first()
    if existing is not None:
        if existing.name == name:
            return existing
        label = judge_label(existing.name, existing.version)
        raise InvalidInputError(
            f"Judge '{label}' already has exactly this config:"
            f" use it, or change something (model, template, params) for '{name}'."
        )
    latest = session.exec(select(func.max(Judge.version)).where(Judge.name == name)).one()
    judge = Judge(
        name=name,
        version=(latest or 0) + 1,
        content_hash=digest,
        provider=n.provider,
        model=n.model,
        base_url=n.base_url,
        api_key_env=n.api_key_env,
        template_kind=n.template_kind,
        template=n.template or "",
        params=n.params,
        swap_policy=n.swap_policy,
        inconsistent_as=n.inconsistent_as,
    )
    session.add(judge)
    session.flush()
    return judge


def edit_judge(engine: Engine, name: str, *, actor_id: int, **changes: Any) -> Judge:
    """A new version of ``name``'s latest config with ``changes`` (JudgeSpec field names)."""
    with write_session(engine) as session:
        require_admin(session, actor_id)
        base = spec_of(_get_judge(session, name))
        params = changes.pop("params", None)
        fields = {**base.__dict__, **changes}
        if params is not None:
            fields["params"] = {**base.params, **params}
        judge = _save_judge(session, name, JudgeSpec(**fields))
        session.commit()
        return judge


def get_judge(engine: Engine, name: str, version: int | None = None) -> Judge:
    """A judge by name (latest version unless given), or by "name@version" / numeric id."""
    with Session(engine, expire_on_commit=False) as session:
        return _get_judge(session, name, version)


def _get_judge(session: Session, name: str, version: int | None = None) -> Judge:
    if version is None and "@" in name:
        name, _, v = name.rpartition("@")
        version = int(v.lstrip("v")) if v.lstrip("v").isdigit() else None
    query = select(Judge).where(Judge.name == name)
    if version is not None:
        query = query.where(Judge.version == version)
    judge = session.exec(query.order_by(Judge.version.desc())).first()
    if judge is None and name.isdigit():
        judge = session.get(Judge, int(name))
    if judge is None:
        known = ", ".join(sorted(set(session.exec(select(Judge.name)).all())))
        which = f"'{name if version is None else judge_label(name, version)}'"
        hint = f" Known judges: {known}." if known else " No judges exist yet."
        raise NotFoundError(
            f"No judge {which}: create it with 'judgeboard judge add {name} ...'.{hint}"
        )
    return judge


def list_judges(engine: Engine, *, actor_id: int, all_versions: bool = False) -> list[Judge]:
    """Judges ordered by name then version; only the latest version of each by default.

    Admins only: judge configs are not for raters' eyes.
    """
    with Session(engine, expire_on_commit=False) as session:
        require_admin(session, actor_id)
        judges = list(session.exec(select(Judge).order_by(Judge.name, Judge.version)).all())
    if all_versions:
        return judges
    latest: dict[str, Judge] = {}
    for j in judges:
        latest[j.name] = j
    return list(latest.values())
