"""Generation runs on the one runner: a task is a prompt; it makes a candidate's output.

The worker (``judges.worker``) claims, calls, retries, rate-limits and caches exactly as for
judge runs; this module only says which request a prompt needs and how its reply is stored:
one ``Output`` of the run's candidate per prompt, with latency, tokens and cost. A reply
taken from the response cache costs nothing and records no latency (none was measured).
Replies are not streamed, so no time to first token is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from db.models import Output, Prompt
from db.upsert import insert_ignore
from judges.candidates import CandidateSpec
from judges.pricing import cost_of
from judges.prompts import PlannedRequest
from judges.providers import build_messages_request
from judges.templates import render_question
from judges.writer import ClaimedTask, Result, cache_rows, store_cache_rows, without_nul


@dataclass
class GenerationTasks:
    spec: CandidateSpec
    run_id: int
    candidate_id: int
    prices: Mapping[str, tuple[float, float]]

    def plan(
        self, session: Session, tasks: Sequence[ClaimedTask], api_key: str | None
    ) -> dict[int, list[PlannedRequest]]:
        ids = sorted({t.prompt_id for t in tasks if t.prompt_id is not None})
        prompts = {p.id: p for p in session.exec(select(Prompt).where(Prompt.id.in_(ids))).all()}
        json_mode = bool(self.spec.params.get("json_mode"))
        planned: dict[int, list[PlannedRequest]] = {}
        for t in tasks:
            prompt = prompts[t.prompt_id]
            messages = self.spec.messages_for(prompt.messages, prompt.category, prompt.external_id)
            request = build_messages_request(
                self.spec, messages, api_key, self.spec.system, json_mode
            )
            planned[t.task_id] = [PlannedRequest(render_question(messages), request)]
        return planned

    def store(self, session: Session, results: list[Result], now: datetime) -> tuple[int, int]:
        cached, live_in, live_out = cache_rows(results, now)
        rows: list[dict[str, Any]] = []
        for r in results:
            reply, from_cache, latency = r.replies[0]
            cost = (
                0.0
                if from_cache
                else cost_of(self.spec.model, reply.tokens_in, reply.tokens_out, self.prices).usd
            )
            rows.append(
                {
                    "prompt_id": r.job.prompt_id,
                    "candidate_id": self.candidate_id,
                    "content": without_nul(reply.text) or "",
                    "turns": None,
                    "latency_ms": None if from_cache or latency is None else latency * 1000.0,
                    "cost_usd": cost,
                    "tokens": reply.tokens_out,
                    "meta": {
                        "tokens_in": reply.tokens_in,
                        "tokens_out": reply.tokens_out,
                        "response_model": reply.data.get("model"),
                        "request_hash": r.job.planned[0].request.cache_key,
                        "cached": from_cache,
                        "run_id": self.run_id,
                    },
                }
            )
        insert_ignore(session.connection(), Output.__table__, rows)
        store_cache_rows(session, cached)
        return live_in, live_out
