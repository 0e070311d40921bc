"""Try a judge before running it: the rendered prompt, and a dry run on a few comparisons."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.engine import write_session
from db.errors import InvalidInputError
from db.models import Comparison, ResponseCache, utcnow
from db.upsert import insert_ignore
from judges.config import JudgeSpec
from judges.parsing import parse_pairwise, parse_score, to_canonical
from judges.prompts import PlannedRequest, load_contents, load_context, plan_requests
from judges.providers import RetryableError, parse_reply, resolve_api_key, send
from judges.worker import http_client


@dataclass(frozen=True)
class SentRequest:
    """One request exactly as it goes over the wire, headers (and the key) left out."""

    url: str
    body: str
    """The JSON body, byte for byte as sent."""
    messages: list[tuple[str, str]]
    """(role, text) of every message the body carries, the system prompt first."""
    criterion: str | None = None


@dataclass(frozen=True)
class PromptPreview:
    comparison_id: int
    shown_order: str
    requests: list[SentRequest]

    @property
    def prompts(self) -> list[str]:
        """The rendered template of each request (the user message)."""
        return [r.messages[-1][1] for r in self.requests if r.messages]

    @property
    def url(self) -> str:
        return self.requests[0].url if self.requests else ""

    @property
    def body(self) -> str:
        return self.requests[0].body if self.requests else ""


def sent_messages(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of each message in a request body of either wire format."""
    shown: list[tuple[str, str]] = []
    if body.get("system"):
        shown.append(("system", _text(body["system"])))
    for m in body.get("messages") or []:
        shown.append((str(m.get("role", "")), _text(m.get("content", ""))))
    return shown


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


@dataclass(frozen=True)
class DryRunRow:
    comparison_id: int
    shown_order: str
    criterion: str | None
    raw_reply: str | None
    shown_verdict: int | float | None
    preference: int | None
    parsed_how: str
    from_cache: bool
    error: str | None = None


def _comparisons(session: Session, spec: JudgeSpec, campaign_id: int, n: int) -> list[int]:
    single = Comparison.output_a_id == Comparison.output_b_id
    query = select(Comparison.id).where(Comparison.campaign_id == campaign_id)
    query = query.where(single if spec.template_kind == "rubric" else ~single)
    ids = list(session.exec(query.order_by(Comparison.id).limit(n)).all())
    if not ids:
        what = "single-output items" if spec.template_kind == "rubric" else "comparisons"
        raise InvalidInputError(
            f"This campaign has no {what} to preview a {spec.template_kind} judge on."
        )
    return ids


def _plans(
    session: Session,
    spec: JudgeSpec,
    campaign_id: int,
    comparison_id: int,
    shown_order: str,
    api_key: str | None,
) -> list[PlannedRequest]:
    ctx = load_context(session, campaign_id)
    if spec.template_kind == "rubric" and not ctx.criteria:
        raise InvalidInputError(
            "The campaign has no rubric criteria: add criteria or use a pairwise judge."
        )
    contents = load_contents(session, [comparison_id])
    if comparison_id not in contents:
        raise InvalidInputError(f"No comparison {comparison_id} in this campaign.")
    return plan_requests(spec, ctx, contents[comparison_id], shown_order, api_key)


def preview_prompt(
    engine: Engine,
    spec: JudgeSpec,
    campaign_id: int,
    comparison_id: int | None = None,
    shown_order: str = "ab",
) -> PromptPreview:
    """The requests ``spec`` would send for a real comparison of the campaign, exactly.

    Validates the spec (so the page shows template errors as you type). The bodies are
    the bytes a run sends (the key goes in a header, so none is needed here).
    """
    n = spec.normalized()
    with Session(engine) as session:
        cid = comparison_id or _comparisons(session, n, campaign_id, 1)[0]
        plans = _plans(session, n, campaign_id, cid, shown_order, None)
    return PromptPreview(
        comparison_id=cid,
        shown_order=shown_order,
        requests=[
            SentRequest(
                url=p.request.url,
                body=p.request.body.decode("utf-8"),
                messages=sent_messages(json.loads(p.request.body)),
                criterion=_crit(p),
            )
            for p in plans
        ],
    )


async def dry_run(
    engine: Engine,
    spec: JudgeSpec,
    campaign_id: int,
    client: httpx.AsyncClient,
    *,
    n: int = 3,
    secrets: Mapping[str, Any] | None = None,
    timeout_s: float = 60.0,
) -> list[DryRunRow]:
    """Judge the first ``n`` comparisons once each (shown order "ab"), storing no verdicts.

    Replies go into the response cache, so a real run later reuses them for free.
    Raises ProviderError (bad key, unknown model) so the page can show the fix.
    """
    n_spec = spec.normalized()
    api_key = resolve_api_key(n_spec, secrets)
    with Session(engine) as s:
        ids = _comparisons(s, n_spec, campaign_id, n)
        planned = {cid: _plans(s, n_spec, campaign_id, cid, "ab", api_key) for cid in ids}
        keys = [p.request.cache_key for plans in planned.values() for p in plans]
        cached = dict(
            s.exec(
                select(ResponseCache.request_hash, ResponseCache.response).where(
                    ResponseCache.request_hash.in_(keys)
                )
            ).all()
        )

    async def one(cid: int, plan: PlannedRequest) -> tuple[DryRunRow, dict[str, Any] | None]:
        hit = cached.get(plan.request.cache_key)
        try:
            reply = (
                parse_reply(n_spec.provider, hit)
                if hit is not None
                else await send(client, n_spec, plan.request, api_key, timeout_s)
            )
        except RetryableError as exc:
            return DryRunRow(
                cid, "ab", _crit(plan), None, None, None, "error", False, str(exc)
            ), None
        if plan.criterion is not None:
            score = parse_score(reply.text, plan.criterion.scale, plan.criterion.categories)
            row = DryRunRow(
                cid, "ab", plan.criterion.name, reply.text, score.score, None, score.how,
                hit is not None,
            )  # fmt: skip
        else:
            verdict = parse_pairwise(reply.text, scale=n_spec.params.get("scale", "3way"))
            row = DryRunRow(
                cid, "ab", None, reply.text, verdict.preference,
                to_canonical(verdict.preference, "ab"), verdict.how, hit is not None,
            )  # fmt: skip
        fresh = (
            None
            if hit is not None
            else {
                "request_hash": plan.request.cache_key,
                "response": reply.data,
                "created_at": utcnow(),
            }
        )
        return row, fresh

    results = await asyncio.gather(
        *(one(cid, plan) for cid, plans in planned.items() for plan in plans)
    )
    fresh_rows = [f for _r, f in results if f is not None]
    if fresh_rows:
        with write_session(engine) as s:
            insert_ignore(s.connection(), ResponseCache.__table__, fresh_rows)
            s.commit()
    return [r for r, _f in results]


def _crit(plan: PlannedRequest) -> str | None:
    return plan.criterion.name if plan.criterion else None


def dry_run_blocking(
    engine: Engine,
    spec: JudgeSpec,
    campaign_id: int,
    *,
    n: int = 3,
    secrets: Mapping[str, Any] | None = None,
) -> list[DryRunRow]:
    """``dry_run`` with its own event loop and client (for the page and the CLI)."""

    async def main() -> list[DryRunRow]:
        async with http_client(max(1, n)) as client:
            return await dry_run(engine, spec, campaign_id, client, n=n, secrets=secrets)

    return asyncio.run(main())
