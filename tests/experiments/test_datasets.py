"""Versioned datasets (issue 15, point 1): immutable, content-hashed versions, diffs, and
campaigns that remember the version their prompts came from. Both databases."""

from __future__ import annotations

import json
import random

import pytest
from sqlmodel import select

from cli.main import app
from db.errors import ImportFileError, InvalidInputError, NotFoundError, PermissionDeniedError
from db.models import Campaign, DatasetItem, Prompt
from experiments.datasets import (
    add_dataset,
    create_campaign_from_dataset,
    diff_versions,
    list_datasets,
    parse_ref,
    resolve_version,
    version_items,
)
from ingest.outputs import import_outputs
from tests import factory
from tests.cli.test_cli import cli_db, runner

__all__ = ["cli_db"]


def _add(engine, tmp_path, rows, name="qa", file="qa.jsonl"):
    path = factory.write_jsonl(tmp_path / file, rows)
    return add_dataset(engine, path, name, actor_id=factory.admin_id(engine))


def test_a_file_becomes_version_1_with_every_prompt(engine, tmp_path) -> None:
    result = _add(engine, tmp_path, factory.dataset_rows(4))
    assert result.created and result.version.ref == "qa@1" and result.version.n_items == 4
    items = version_items(engine, result.version.version_id)
    assert [i.external_id for i in items] == ["p0", "p1", "p2", "p3"]
    assert items[1].messages == [{"role": "user", "content": "Question 1?"}]
    assert (items[1].category, items[1].split) == ("math", "test")


def test_the_same_content_in_another_order_with_repeats_is_the_same_version(
    engine, tmp_path
) -> None:
    rows = factory.dataset_rows(5)
    first = _add(engine, tmp_path, rows)
    shuffled = rows + rows[:2]
    random.Random(7).shuffle(shuffled)
    before = factory.table_counts(engine)
    again = _add(engine, tmp_path, shuffled, file="again.jsonl")
    assert not again.created and again.version.version == 1
    assert again.repeated_rows == 2
    assert again.version.content_hash == first.version.content_hash
    assert factory.table_counts(engine) == before
    assert "no new version" in again.summary()


def test_a_changed_file_makes_version_2_and_the_diff_names_each_prompt(engine, tmp_path) -> None:
    rows = factory.dataset_rows(4)
    _add(engine, tmp_path, rows)
    changed = [dict(r) for r in rows if r["prompt_id"] != "p0"]
    changed[0]["prompt"] = "Question one, reworded?"  # p1 changes text
    changed[1]["split"] = "eval"  # p2 changes split
    changed.append({"prompt_id": "p9", "prompt": "New?"})
    second = _add(engine, tmp_path, changed, file="v2.jsonl")
    assert second.created and second.version.version == 2
    diff = diff_versions(engine, "qa", 1, 2)
    assert (diff.added, diff.removed, diff.changed) == (["p9"], ["p0"], ["p1", "p2"])
    assert second.diff == diff
    assert "1 added, 1 removed, 2 changed" in second.summary()
    assert diff_versions(engine, "qa", 2, 2).unchanged


def test_a_new_version_leaves_the_old_one_and_its_campaign_as_they_were(engine, tmp_path) -> None:
    rows = factory.dataset_rows(4)
    _add(engine, tmp_path, rows)
    admin = factory.admin_id(engine)
    made = create_campaign_from_dataset(engine, "qa@1", "qa eval", actor_id=admin)
    old_items = version_items(engine, made.version.version_id)
    rows[0]["prompt"] = "Changed?"
    _add(engine, tmp_path, rows, file="v2.jsonl")
    assert version_items(engine, made.version.version_id) == old_items
    with factory.session(engine) as s:
        campaign = s.get(Campaign, made.campaign_id)
        prompts = s.exec(select(Prompt).where(Prompt.campaign_id == made.campaign_id)).all()
    assert campaign.dataset_version_id == made.version.version_id
    assert {p.dataset_version_id for p in prompts} == {made.version.version_id}
    assert {p.external_id: p.messages[0]["content"] for p in prompts}["p0"] == "Question 0?"
    assert resolve_version(engine, "qa").version == 2


def test_a_campaign_from_one_split_holds_only_that_splits_prompts(engine, tmp_path) -> None:
    _add(engine, tmp_path, factory.dataset_rows(5))
    made = create_campaign_from_dataset(
        engine, "qa", "dev only", actor_id=factory.admin_id(engine), split="dev"
    )
    with factory.session(engine) as s:
        prompts = s.exec(select(Prompt).where(Prompt.campaign_id == made.campaign_id)).all()
    assert sorted(p.external_id for p in prompts) == ["p0", "p2", "p4"]
    assert {p.split for p in prompts} == {"dev"}
    with pytest.raises(InvalidInputError, match="no prompts in split 'eval'.*dev, test"):
        create_campaign_from_dataset(
            engine, "qa", "none", actor_id=factory.admin_id(engine), split="eval"
        )


def test_a_bad_file_names_line_and_field_and_stores_nothing(engine, tmp_path) -> None:
    rows = [
        {"prompt_id": "p1", "prompt": "a"},
        {"prompt_id": "p1", "prompt": "b"},
        {"prompt_id": "p2"},
        {"prompt_id": "p3", "prompt": "c", "metadata": [1]},
    ]
    factory.admin_id(engine)
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as raised:
        _add(engine, tmp_path, rows)
    message = str(raised.value)
    assert "line 2, field 'prompt': prompt_id 'p1' has a different prompt than on line 1" in message
    assert "line 3, field 'prompt': is missing" in message
    assert "line 4, field 'metadata'" in message
    assert factory.table_counts(engine) == before


def test_an_outputs_file_gives_its_prompts_once_and_names_the_ignored_columns(
    engine, tmp_path
) -> None:
    path = factory.write_csv(tmp_path / "outputs.csv", factory.output_rows(3, ("m1", "m2")))
    result = add_dataset(engine, path, "from outputs", actor_id=factory.admin_id(engine))
    assert result.version.n_items == 3 and result.repeated_rows == 3
    assert result.ignored_fields == ["model", "output"]
    assert "Ignored fields: model, output" in result.summary()


def test_a_rater_cannot_add_a_dataset_or_make_a_campaign_from_one(engine, tmp_path) -> None:
    _add(engine, tmp_path, factory.dataset_rows(2))
    with factory.session(engine) as s:
        rater = factory.user(s, "r@x.org")
        s.commit()
        rater_id = rater.id
    before = factory.table_counts(engine)
    path = factory.write_jsonl(tmp_path / "r.jsonl", factory.dataset_rows(3))
    with pytest.raises(PermissionDeniedError):
        add_dataset(engine, path, "qa", actor_id=rater_id)
    with pytest.raises(PermissionDeniedError):
        create_campaign_from_dataset(engine, "qa", "mine", actor_id=rater_id)
    assert factory.table_counts(engine) == before


def test_unknown_names_and_versions_say_what_exists(engine, tmp_path) -> None:
    _add(engine, tmp_path, factory.dataset_rows(2))
    with pytest.raises(NotFoundError, match="No dataset named 'nope'.*Datasets: qa"):
        resolve_version(engine, "nope")
    with pytest.raises(NotFoundError, match="no version 3: it has versions 1 to 1"):
        resolve_version(engine, "qa@3")
    with pytest.raises(InvalidInputError, match="NAME@VERSION"):
        parse_ref("qa@two")
    with pytest.raises(InvalidInputError, match="cannot contain '@'"):
        _add(engine, tmp_path, factory.dataset_rows(2), name="a@b")


def test_a_campaign_name_in_use_is_refused_and_nothing_is_added(engine, tmp_path) -> None:
    _add(engine, tmp_path, factory.dataset_rows(2))
    admin = factory.admin_id(engine)
    create_campaign_from_dataset(engine, "qa", "taken", actor_id=admin)
    before = factory.table_counts(engine)
    with pytest.raises(InvalidInputError, match="already exists"):
        create_campaign_from_dataset(engine, "qa", "taken", actor_id=admin)
    assert factory.table_counts(engine) == before


def test_list_shows_the_latest_version_of_each_dataset(engine, tmp_path) -> None:
    rows = factory.dataset_rows(2)
    _add(engine, tmp_path, rows, name="b")
    _add(engine, tmp_path, rows, name="a")
    _add(engine, tmp_path, factory.dataset_rows(3), name="a", file="a2.jsonl")
    listed = [(v.dataset, v.version, v.n_versions, v.n_items) for v in list_datasets(engine)]
    assert listed == [("a", 2, 2, 3), ("b", 1, 1, 2)]
    with factory.session(engine) as s:
        assert len(s.exec(select(DatasetItem)).all()) == 2 + 2 + 3


def test_cli_adds_lists_shows_diffs_and_makes_a_campaign(cli_db, tmp_path, wide_console) -> None:
    v1 = factory.write_jsonl(tmp_path / "v1.jsonl", factory.dataset_rows(3))
    v2 = factory.write_jsonl(tmp_path / "v2.jsonl", factory.dataset_rows(4))
    for path in (v1, v2):
        result = runner.invoke(app, ["dataset", "add", str(path), "--name", "[bold]qa"])
        assert result.exit_code == 0, result.output
    assert "version 2 with 4 prompts" in result.stdout and "1 added" in result.stdout
    listed = runner.invoke(app, ["dataset", "list"])
    assert "[bold]qa" in listed.stdout
    diff = runner.invoke(app, ["dataset", "diff", "[bold]qa", "1", "2"])
    assert "added: p3" in diff.stdout
    shown = runner.invoke(app, ["dataset", "show", "[bold]qa@1", "--format", "json"])
    assert [r["prompt_id"] for r in json.loads(shown.stdout)] == ["p0", "p1", "p2"]
    made = runner.invoke(app, ["dataset", "campaign", "[bold]qa@2", "-c", "eval", "--split", "dev"])
    assert made.exit_code == 0 and "2 prompts of [bold]qa@2 (split dev)" in made.stdout
    missing = runner.invoke(app, ["dataset", "show", "qa@9"])
    assert missing.exit_code == 1 and "No dataset named 'qa'" in missing.stderr


# --- outputs imported into a campaign made from a dataset version -------------------------


def _dataset_campaign(engine, tmp_path) -> None:
    _add(engine, tmp_path, factory.dataset_rows(3))
    create_campaign_from_dataset(engine, "qa@1", "from qa", actor_id=factory.admin_id(engine))


def test_outputs_for_the_datasets_prompts_attach_to_them(engine, tmp_path) -> None:
    _dataset_campaign(engine, tmp_path)
    rows = [
        {"prompt_id": f"p{i}", "prompt": f"Question {i}?", "model": m, "output": f"{m} {i}"}
        for i in range(3)
        for m in ("m1", "m2")
    ]
    path = factory.write_jsonl(tmp_path / "outs.jsonl", rows)
    result = import_outputs(engine, path, "from qa", actor_id=factory.admin_id(engine))
    assert (result.prompts_added, result.outputs_added) == (0, 6)


def test_outputs_for_a_prompt_outside_the_dataset_or_with_other_text_are_refused(
    engine, tmp_path
) -> None:
    _dataset_campaign(engine, tmp_path)
    rows = [
        {"prompt_id": "p0", "prompt": "Question 0?", "model": "m1", "output": "fine"},
        {"prompt_id": "p7", "prompt": "Question 7?", "model": "m1", "output": "stray"},
        {"prompt_id": "p1", "prompt": "Another question?", "model": "m1", "output": "x"},
    ]
    path = factory.write_jsonl(tmp_path / "outs.jsonl", rows)
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as raised:
        import_outputs(engine, path, "from qa", actor_id=factory.admin_id(engine))
    message = str(raised.value)
    assert "line 2, field 'prompt_id': 'p7' is not a prompt of dataset qa@1" in message
    assert "line 3, field 'prompt': differs from the prompt 'p1' of dataset qa@1" in message
    assert factory.table_counts(engine) == before


def test_the_dataset_check_holds_when_a_big_file_is_parsed_in_a_second_process(
    engine, tmp_path, monkeypatch
) -> None:
    from ingest import outputs

    monkeypatch.setattr(outputs, "PARALLEL_MIN_BYTES", 0)
    _dataset_campaign(engine, tmp_path)
    good = [{"prompt_id": "p2", "prompt": "Question 2?", "model": "m1", "output": "ok"}]
    path = factory.write_jsonl(tmp_path / "good.jsonl", good)
    admin = factory.admin_id(engine)
    assert import_outputs(engine, path, "from qa", actor_id=admin).outputs_added == 1
    bad = [{"prompt_id": "p2", "prompt": "Question two?", "model": "m2", "output": "no"}]
    path = factory.write_jsonl(tmp_path / "bad.jsonl", bad)
    with pytest.raises(ImportFileError, match="differs from the prompt 'p2' of dataset qa@1"):
        import_outputs(engine, path, "from qa", actor_id=factory.admin_id(engine))
