"""The judge prompt is the judge's: its own instructions, never the raters', shown as sent."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import select

from annotate.campaign_setup import (
    CampaignSettings,
    CriterionEdit,
    load_campaign_form,
    save_campaign,
)
from annotate.campaigns import CriterionSpec
from db.models import Campaign, Judgment
from judges.config import JudgeSpec
from judges.preview import dry_run_blocking, preview_prompt
from judges.prompts import CriterionInfo
from judges.runs import RunOptions, create_run
from judges.templates import PAIRWISE_SCALE_TEXT, default_judge_instructions
from judges.worker import run_blocking
from tests import factory

FAST = RunOptions(concurrency=4, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0)
RATER_TEXT = (
    "Press 1 for A, 2 for a tie, 3 for B. Some items are known-answer checks."
    " Use the 5-point scale: A much better ... B much better."
)
LEAK = "LEAKED RATER TEXT"
CRITERIA = [
    CriterionInfo(1, "Accuracy", "Facts are right\nand complete.", "likert5", None),
    CriterionInfo(2, "Tone", "", "categories", ["formal", "casual"]),
]


def _campaign(engine, server, *, judge_instructions: str | None = None, **spec) -> tuple[int, int]:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s, n_prompts=1, models=("m1", "m22"), instructions=RATER_TEXT, preference_scale="5way"
        )
        data["campaign"].judge_instructions = judge_instructions
        spec.setdefault("base_url", server.openai_base)
        judge = factory.judge_config(s, "j", **spec)
        s.commit()
        return data["campaign"].id, judge.id


def test_the_default_states_the_task_and_the_judges_own_answer_format() -> None:
    text = default_judge_instructions("pairwise", answer_format=PAIRWISE_SCALE_TEXT["3way"])
    assert text.startswith("Task: compare two answers")
    assert text.endswith(
        f"Verdict: {PAIRWISE_SCALE_TEXT['3way']}, in the format asked for at the end."
    )
    assert "much better" not in text


def test_the_default_lists_the_criteria_of_a_rubric_campaign() -> None:
    pairwise = default_judge_instructions("both", CRITERIA)
    assert "- Accuracy: Facts are right and complete.\n- Tone\n" in pairwise
    rubric = default_judge_instructions("rubric", CRITERIA, kind="rubric")
    assert "- Accuracy: Facts are right and complete. (scale: an integer from 1" in rubric
    assert '- Tone (scale: one of "formal", "casual")' in rubric
    assert rubric.endswith("Give the verdict in the format asked for at the end of this prompt.")


def test_a_pairwise_campaign_gives_its_judges_no_criteria() -> None:
    assert "Accuracy" not in default_judge_instructions("pairwise", CRITERIA)


def test_rater_instructions_never_reach_the_judge_prompt(engine, server) -> None:
    campaign_id, _ = _campaign(engine, server)
    spec = JudgeSpec(provider="openai", model="fake-judge", base_url=server.openai_base)
    sent = preview_prompt(engine, spec, campaign_id).body
    for fragment in ("Press 1", "known-answer", "much better"):
        assert fragment not in sent
    assert "Task: compare two answers" in json.loads(sent)["messages"][-1]["content"]


def test_a_campaigns_judge_instructions_replace_the_default(engine, server) -> None:
    campaign_id, _ = _campaign(engine, server, judge_instructions="Prefer the shorter answer.")
    spec = JudgeSpec(provider="openai", model="fake-judge", base_url=server.openai_base)
    (prompt,) = preview_prompt(engine, spec, campaign_id).prompts
    assert "Prefer the shorter answer." in prompt and "Task:" not in prompt


def test_a_run_never_sends_the_rater_instructions_to_the_judge_server(engine, server) -> None:
    server.configure(rules=[{"contains": t, "reply": LEAK} for t in ("known-answer", "Press 1")])
    campaign_id, judge_id = _campaign(engine, server)
    admin = factory.admin_id(engine)
    run = create_run(engine, judge_id, campaign_id, actor_id=admin)
    assert run_blocking(engine, run.id, FAST).n_done == 2
    with factory.session(engine) as s:
        replies = s.exec(select(Judgment.raw_reply).where(Judgment.rater_kind == "llm")).all()
    assert len(replies) == 2 and LEAK not in replies


def _sent_exactly_as_previewed(engine, server, provider: str, base_url: str) -> None:
    campaign_id, _ = _campaign(engine, server, provider=provider, base_url=base_url)
    spec = JudgeSpec(
        provider=provider, model="fake-judge", base_url=base_url, params={"system": "Be fair."}
    )
    preview = preview_prompt(engine, spec, campaign_id)
    (row,) = dry_run_blocking(engine, spec, campaign_id, n=1)
    assert row.error is None
    digest = hashlib.sha256(preview.body.encode("utf-8")).hexdigest()
    assert server.stats()["by_body"] == {digest: 1}
    assert preview.requests[0].messages == [
        ("system", "Be fair."),
        ("user", preview.prompts[0]),
    ]


def test_the_preview_is_the_openai_request_body_the_server_receives(engine, server) -> None:
    _sent_exactly_as_previewed(engine, server, "openai", server.openai_base)


def test_the_preview_is_the_anthropic_request_body_the_server_receives(engine, server) -> None:
    _sent_exactly_as_previewed(engine, server, "anthropic", server.anthropic_base)


def test_saving_a_campaign_stores_its_judge_instructions(engine) -> None:
    admin = factory.admin_id(engine)
    settings = CampaignSettings(
        name="c", instructions=RATER_TEXT, judge_instructions="Judge strictly."
    )
    campaign_id = save_campaign(engine, settings, actor_id=admin)
    form = load_campaign_form(engine, campaign_id, actor_id=admin)
    assert form.settings.judge_instructions == "Judge strictly."
    assert form.settings.instructions == RATER_TEXT


def test_blank_judge_instructions_mean_the_default(engine) -> None:
    admin = factory.admin_id(engine)
    campaign_id = save_campaign(
        engine, CampaignSettings(name="c", judge_instructions="x"), actor_id=admin
    )
    settings = CampaignSettings(
        name="c",
        mode="both",
        criteria=(CriterionEdit("Accuracy"),),
        judge_instructions="  \n",
    )
    save_campaign(engine, settings, campaign_id, actor_id=admin)
    with factory.session(engine) as s:
        assert s.get(Campaign, campaign_id).judge_instructions is None


def test_criteria_specs_are_accepted_by_the_default() -> None:
    spec = CriterionSpec("Helpfulness", "Solves the problem.", "binary")
    text = default_judge_instructions("rubric", [spec], kind="rubric", answer_format="0 or 1")
    assert "- Helpfulness: Solves the problem. (scale: 0 (fails" in text
    assert text.endswith("Verdict: 0 or 1, in the format asked for at the end.")
