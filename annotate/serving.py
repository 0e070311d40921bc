"""The serving order: a seeded random rank per comparison, so human labels fall at random.

Prediction-powered inference (``metrics.blend``) is valid only when the human-labelled
comparisons are a random sample. The queue serves comparisons with the fewest ratings
first and, among equals, in ``serve_rank`` order, so the labelled set is (close to) the
first comparisons by rank: a random sample when the rank is random.

A campaign draws a ``serve_seed`` when it is created (or takes one given for
reproducibility). A comparison's rank is a keyed hash of its content identity: the prompt's
external id and the two candidates' names, sorted. The order is therefore the same however
and in whatever order the data was imported, and a different seed gives a different order.

Every path that creates comparisons goes through :func:`insert_comparisons` (pairing,
vote imports) or computes :func:`serve_rank` itself (the test factory, benchmarks).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, Engine

from db.access import admin_only
from db.errors import InvalidInputError, NotFoundError
from db.models import Assignment, Campaign, Candidate, Comparison, Output, Prompt
from db.upsert import insert_ignore

SEED_LIMIT = 2**63
"""Seeds are stored in a signed 64-bit column: 0 <= seed < 2**63."""
RANK_BITS = 62
_CHUNK = 500
_BATCH = 5000


def new_serve_seed() -> int:
    """A fresh random seed for a campaign's serving order."""
    return secrets.randbits(63)


def check_seed(seed: int) -> int:
    """``seed`` if it can be stored, else an error naming the allowed range."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise InvalidInputError(
            f"A serving seed must be a whole number from 0 to {SEED_LIMIT - 1}, got {seed!r}."
        )
    return seed


def serve_rank(seed: int, prompt_external_id: str, model_a: str, model_b: str) -> int:
    """The comparison's rank in the serving order: blake2b keyed by the seed, 62 bits.

    The two names are sorted, so which output is stored as "A" does not matter; the parts
    are JSON-encoded, so no choice of names can make two identities hash the same text.
    """
    key = check_seed(seed).to_bytes(8, "big")
    identity = json.dumps([prompt_external_id, *sorted((model_a, model_b))], ensure_ascii=False)
    digest = hashlib.blake2b(identity.encode("utf-8"), digest_size=8, key=key).digest()
    return int.from_bytes(digest, "big") >> (64 - RANK_BITS)


def _identities(conn: Connection, output_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Output id -> (prompt external id, candidate name), in chunks."""
    ids = sorted(set(output_ids))
    found: dict[int, tuple[str, str]] = {}
    for i in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(Output.id, Prompt.external_id, Candidate.name)
            .join(Prompt, Prompt.id == Output.prompt_id)
            .join(Candidate, Candidate.id == Output.candidate_id)
            .where(Output.id.in_(ids[i : i + _CHUNK]))
        ).all()
        found.update({oid: (ext, name) for oid, ext, name in rows})
    return found


def _ranks(conn: Connection, seed: int, pairs: Sequence[tuple[int, int]]) -> list[int]:
    """The serve rank of each (output_a_id, output_b_id) pair."""
    who = _identities(conn, (o for pair in pairs for o in pair))
    ranks = []
    for a, b in pairs:
        ext, name_a = who[a]
        ranks.append(serve_rank(seed, ext, name_a, who[b][1]))
    return ranks


def _rerank(conn: Connection, campaign_id: int, seed: int) -> int:
    """Give every comparison of the campaign its rank under ``seed``; returns how many."""
    rows = conn.execute(
        select(Comparison.id, Comparison.output_a_id, Comparison.output_b_id).where(
            Comparison.campaign_id == campaign_id
        )
    ).all()
    table = Comparison.__table__
    statement = (
        update(table).where(table.c.id == bindparam("cid")).values(serve_rank=bindparam("rank"))
    )
    for i in range(0, len(rows), _BATCH):
        chunk = rows[i : i + _BATCH]
        ranks = _ranks(conn, seed, [(a, b) for _, a, b in chunk])
        conn.execute(
            statement,
            [{"cid": cid, "rank": r} for (cid, _, _), r in zip(chunk, ranks, strict=True)],
        )
    return len(rows)


def campaign_seed(conn: Connection, campaign_id: int) -> int:
    """The campaign's serving seed, drawn now if it has none (campaigns made before seeds).

    Drawing a seed re-ranks the campaign's existing comparisons, so the queue serves them
    at random from then on. Labels given earlier, in import order, stay where they are: the
    PPI sampling check (``results.sampling``) then reports them as not drawn at random.
    """
    seed = conn.execute(select(Campaign.serve_seed).where(Campaign.id == campaign_id)).first()
    if seed is None:
        raise NotFoundError(f"No campaign with id {campaign_id}: pick one from the list.")
    if seed[0] is not None:
        return int(seed[0])
    drawn = new_serve_seed()
    conn.execute(update(Campaign).where(Campaign.id == campaign_id).values(serve_seed=drawn))
    _rerank(conn, campaign_id, drawn)
    return drawn


def insert_comparisons(conn: Connection, campaign_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """Insert comparison rows of one campaign with their serve ranks, skipping existing ones.

    Each row holds the ``comparisons`` columns (``prompt_id``, ``output_a_id``,
    ``output_b_id``, ...); ``campaign_id`` and ``serve_rank`` are filled in here. Returns
    the number of rows sent.
    """
    if not rows:
        return 0
    seed = campaign_seed(conn, campaign_id)
    for i in range(0, len(rows), _BATCH):
        chunk = rows[i : i + _BATCH]
        ranks = _ranks(conn, seed, [(r["output_a_id"], r["output_b_id"]) for r in chunk])
        insert_ignore(
            conn,
            Comparison.__table__,
            [
                {**r, "campaign_id": campaign_id, "serve_rank": rank}
                for r, rank in zip(chunk, ranks, strict=True)
            ],
        )
    return len(rows)


def set_serve_seed(engine: Engine, campaign_id: int, seed: int, *, actor_id: int) -> int:
    """Set a campaign's serving seed (to reproduce an order) and re-rank its comparisons.

    Refused once the queue has served an item: changing the order then would make the
    labels already given look hand-picked. Admins only. Returns the comparisons re-ranked.
    """
    admin_only(engine, actor_id)
    check_seed(seed)
    with engine.begin() as conn:
        name = conn.execute(select(Campaign.name).where(Campaign.id == campaign_id)).scalar()
        if name is None:
            raise NotFoundError(f"No campaign with id {campaign_id}: pick one from the list.")
        served = conn.execute(
            select(Assignment.id).where(Assignment.campaign_id == campaign_id).limit(1)
        ).first()
        if served is not None:
            raise InvalidInputError(
                f"Raters have already been served items of campaign '{name}', so its serving"
                " order can no longer change: set the seed before rating starts, or create a"
                " new campaign."
            )
        conn.execute(update(Campaign).where(Campaign.id == campaign_id).values(serve_seed=seed))
        return _rerank(conn, campaign_id, seed)
