"""Candidate configurations: what a generating candidate sends, as an immutable, hashed spec.

A candidate config goes through the same provider layer as a judge (``judges.providers``);
what differs is the request: a dataset prompt's messages, optionally reshaped by a template,
under an optional system prompt. Saving, versioning and listing live in
``experiments.candidates``; generation runs in ``judges.generation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from db.errors import InvalidInputError
from db.models import CandidateConfig
from judges.config import REQUEST_PARAMS, checked_endpoint, checked_key_env, config_hash
from judges.templates import placeholders, render_question

CANDIDATE_PARAMS = ("json_mode", "api_version", "timeout_s")
ALLOWED_PARAMS = REQUEST_PARAMS + CANDIDATE_PARAMS
PLACEHOLDERS = ("prompt", "messages", "category", "id")
"""{prompt}: the last user turn; {messages}: the whole conversation as text;
{category} and {id}: the dataset item's category and prompt id."""


@dataclass(frozen=True)
class CandidateSpec:
    """What defines a candidate version. ``template=None`` sends the prompt as it is.

    ``api_key_env`` names the variable holding the key (None: the server needs none).
    """

    provider: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    system: str | None = None
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def normalized(self) -> CandidateSpec:
        """Fill defaults and validate; raises InvalidInputError naming the fix."""
        provider, model, base_url = checked_endpoint(
            self.provider, self.model, self.base_url, "A candidate"
        )
        template = self.template if self.template and self.template.strip() else None
        if template is not None:
            validate_candidate_template(template)
        system = self.system if self.system and self.system.strip() else None
        params = dict(self.params or {})
        unknown = sorted(set(params) - set(ALLOWED_PARAMS))
        if unknown:
            raise InvalidInputError(
                f"Unknown candidate parameter '{unknown[0]}'. Allowed: {', '.join(ALLOWED_PARAMS)}."
            )
        key_env = checked_key_env(self.api_key_env, "The key variable")
        return CandidateSpec(provider, model, base_url, key_env, system, template, params)

    def canonical(self) -> dict[str, Any]:
        n = self.normalized()
        return {
            "provider": n.provider,
            "model": n.model,
            "base_url": n.base_url,
            "api_key_env": n.api_key_env,
            "system": n.system,
            "template": n.template,
            "params": n.params,
        }

    def content_hash(self) -> str:
        return config_hash(self.canonical())

    def messages_for(
        self, messages: list[dict[str, str]], category: str | None, prompt_id: str
    ) -> list[dict[str, str]]:
        """The conversation sent for one prompt: as it is, or reshaped by the template."""
        turns = [{"role": str(m.get("role", "user")), "content": str(m.get("content", ""))}
                 for m in messages]  # fmt: skip
        if self.template is None:
            return turns
        last = max((i for i, m in enumerate(turns) if m["role"] == "user"), default=None)
        values = {
            "prompt": turns[last]["content"] if last is not None else "",
            "messages": render_question(turns),
            "category": category or "",
            "id": prompt_id,
        }
        text = self.template.format_map(values)
        if "messages" in placeholders(self.template) or last is None:
            return [{"role": "user", "content": text}]
        return [*turns[:last], {"role": "user", "content": text}, *turns[last + 1 :]]


def validate_candidate_template(template: str) -> None:
    used = placeholders(template)
    listing = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
    for name in used:
        if name not in PLACEHOLDERS:
            raise InvalidInputError(
                f"Unknown placeholder '{{{name}}}' in the candidate template. Allowed: {listing}."
                " Write literal braces as '{{' and '}}'."
            )
    if "prompt" not in used and "messages" not in used:
        raise InvalidInputError(
            "The candidate template must use {prompt} (the last user turn) or {messages}"
            f" (the whole conversation). Allowed placeholders: {listing}."
        )


def candidate_spec(config: CandidateConfig) -> CandidateSpec:
    """The normalized spec of a stored config."""
    return CandidateSpec(
        provider=config.provider,
        model=config.model,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        system=config.system_prompt,
        template=config.template,
        params=dict(config.params or {}),
    ).normalized()


def candidate_label(name: str, version: int) -> str:
    """The name of the Candidate a config version generates: ``name@v2``."""
    return f"{name}@v{version}"
