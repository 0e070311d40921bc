"""Versioned datasets: immutable, content-hashed sets of prompts with splits (issue 15, 1).

Adding a file to a dataset makes a new version only when its content differs from every
version already stored (the same content gives that version back). Versions are never
changed. A campaign made from a version copies its prompts, and each prompt keeps the
version it came from, so every output, judgment and result can name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from annotate.campaigns import _create_campaign
from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import Campaign, Dataset, DatasetItem, DatasetVersion, Prompt, utcnow
from ingest.datasets import DatasetRow, read_dataset

MAX_NAME = 200
INSERT_ROWS = 1000


@dataclass(frozen=True)
class VersionInfo:
    dataset: str
    version: int
    version_id: int
    content_hash: str
    n_items: int
    source: str
    created_at: datetime
    n_versions: int = 1

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"


@dataclass(frozen=True)
class DatasetDiff:
    dataset: str
    old: int
    new: int
    added: list[str]
    removed: list[str]
    changed: list[str]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        if self.unchanged:
            return f"{self.dataset} versions {self.old} and {self.new} hold the same prompts."
        return (
            f"{self.dataset} version {self.old} → {self.new}: {len(self.added):,} added,"
            f" {len(self.removed):,} removed, {len(self.changed):,} changed."
        )


@dataclass(frozen=True)
class AddResult:
    version: VersionInfo
    created: bool
    diff: DatasetDiff | None
    rows_read: int
    repeated_rows: int
    ignored_fields: list[str]

    def summary(self) -> str:
        v = self.version
        if not self.created:
            text = (
                f"{v.dataset}: the file holds the same {v.n_items:,} prompts as version"
                f" {v.version}; no new version was made."
            )
        else:
            text = f"{v.dataset}: version {v.version} with {v.n_items:,} prompts."
            if self.diff is not None:
                text += " " + self.diff.summary()
        if self.repeated_rows:
            text += f" {self.repeated_rows:,} rows repeated a prompt and were read once."
        if self.ignored_fields:
            text += f" Ignored fields: {', '.join(self.ignored_fields)}."
        return text


def _dataset_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise InvalidInputError("A dataset needs a name: pass --name NAME.")
    if len(clean) > MAX_NAME:
        raise InvalidInputError(f"A dataset name has at most {MAX_NAME} characters.")
    if "@" in clean:
        raise InvalidInputError(
            f"A dataset name cannot contain '@' (NAME@VERSION names a version): '{clean}'."
        )
    return clean


def _info(dataset: Dataset, version: DatasetVersion, n_versions: int = 1) -> VersionInfo:
    return VersionInfo(
        dataset.name, version.version, version.id, version.content_hash, version.n_items,
        version.source, version.created_at, n_versions,
    )  # fmt: skip


def add_dataset(
    engine: Engine,
    source: Path | BinaryIO,
    name: str,
    *,
    actor_id: int,
    filename: str | None = None,
    fmt: str | None = None,
) -> AddResult:
    """Add a file's prompts to dataset ``name`` (created if missing) as a new version;
    admins only. The file is read and checked in full before anything is written."""
    name = _dataset_name(name)
    with Session(engine) as session:
        require_admin(session, actor_id)
    parsed = read_dataset(source, filename, fmt)
    content_hash = parsed.content_hash()
    with write_session(engine) as s:
        dataset = s.exec(select(Dataset).where(Dataset.name == name)).first()
        if dataset is None:
            dataset = Dataset(name=name, created_by=actor_id)
            s.add(dataset)
            s.flush()
        same = s.exec(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == dataset.id,
                DatasetVersion.content_hash == content_hash,
            )
        ).first()
        if same is not None:
            info = _info(dataset, same)
            s.rollback()
            return AddResult(
                info, False, None, parsed.rows_read, parsed.repeated_rows, parsed.ignored_fields
            )
        latest = s.exec(
            select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == dataset.id)
        ).one()
        version = DatasetVersion(
            dataset_id=dataset.id,
            version=(latest or 0) + 1,
            content_hash=content_hash,
            n_items=len(parsed.rows),
            source=parsed.source[-500:],
            created_by=actor_id,
        )
        s.add(version)
        s.flush()
        rows = [
            {
                "version_id": version.id,
                "external_id": r.external_id,
                "messages": r.messages,
                "reference": r.reference,
                "category": r.category,
                "split": r.split,
                "meta": r.meta,
                "item_hash": r.item_hash(),
            }
            for r in parsed.rows
        ]
        for start in range(0, len(rows), INSERT_ROWS):
            s.execute(insert(DatasetItem), rows[start : start + INSERT_ROWS])
        diff = _diff(s, dataset, latest, version.version) if latest else None
        info = _info(dataset, version, version.version)
        s.commit()
    return AddResult(
        info, True, diff, parsed.rows_read, parsed.repeated_rows, parsed.ignored_fields
    )


def list_datasets(engine: Engine) -> list[VersionInfo]:
    """The latest version of every dataset, by name, with how many versions it has."""
    with Session(engine) as s:
        latest = (
            select(
                DatasetVersion.dataset_id,
                func.max(DatasetVersion.version).label("version"),
                func.count().label("n"),
            )
            .group_by(DatasetVersion.dataset_id)
            .subquery()
        )
        rows = s.exec(
            select(Dataset, DatasetVersion, latest.c.n)
            .join(latest, latest.c.dataset_id == Dataset.id)
            .join(
                DatasetVersion,
                (DatasetVersion.dataset_id == Dataset.id)
                & (DatasetVersion.version == latest.c.version),
            )
            .order_by(Dataset.name)
        ).all()
        return [_info(d, v, n) for d, v, n in rows]


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``NAME`` (the latest version) or ``NAME@VERSION``."""
    name, at, version = ref.strip().rpartition("@") if "@" in ref else (ref.strip(), "", "")
    if not at:
        return _dataset_name(name), None
    if not version.isdigit() or int(version) < 1:
        raise InvalidInputError(
            f"'{ref}' is not NAME or NAME@VERSION with a version number from 1 (e.g. qa@2)."
        )
    return _dataset_name(name), int(version)


def resolve_version(engine: Engine, ref: str) -> VersionInfo:
    """The version ``ref`` names; a clear error lists what exists when it is unknown."""
    name, number = parse_ref(ref)
    with Session(engine) as s:
        return _resolve(s, name, number)


def _resolve(s: Session, name: str, number: int | None) -> VersionInfo:
    dataset = s.exec(select(Dataset).where(Dataset.name == name)).first()
    if dataset is None:
        known = s.exec(select(Dataset.name).order_by(Dataset.name)).all()
        listing = f" Datasets: {', '.join(known)}." if known else " There are none yet."
        raise NotFoundError(
            f"No dataset named '{name}': add one with `judgeboard dataset add FILE --name"
            f" {name}`.{listing}"
        )
    versions = s.exec(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.version)
    ).all()
    chosen = (
        versions[-1] if number is None else next((v for v in versions if v.version == number), None)
    )
    if chosen is None:
        raise NotFoundError(
            f"Dataset '{name}' has no version {number}: it has versions 1 to"
            f" {versions[-1].version}."
        )
    return _info(dataset, chosen, len(versions))


def version_items(engine: Engine, version_id: int) -> list[DatasetRow]:
    """A version's prompts in prompt_id order."""
    with Session(engine) as s:
        items = s.exec(
            select(DatasetItem)
            .where(DatasetItem.version_id == version_id)
            .order_by(DatasetItem.external_id)
        ).all()
        return [
            DatasetRow(i.external_id, i.messages, i.reference, i.category, i.split, i.meta)
            for i in items
        ]


def diff_versions(engine: Engine, name: str, old: int, new: int) -> DatasetDiff:
    """Prompts added, removed and changed (text, reference, category, split or metadata)
    from version ``old`` to version ``new``, by prompt_id."""
    name = _dataset_name(name)
    with Session(engine) as s:
        _resolve(s, name, old)
        _resolve(s, name, new)
        dataset = s.exec(select(Dataset).where(Dataset.name == name)).one()
        return _diff(s, dataset, old, new)


def _diff(s: Session, dataset: Dataset, old: int, new: int) -> DatasetDiff:
    def hashes(version: int) -> dict[str, str]:
        rows = s.exec(
            select(DatasetItem.external_id, DatasetItem.item_hash)
            .join(DatasetVersion, DatasetVersion.id == DatasetItem.version_id)
            .where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.version == version)
        ).all()
        return dict(rows)

    a, b = hashes(old), hashes(new)
    return DatasetDiff(
        dataset.name,
        old,
        new,
        added=sorted(b.keys() - a.keys()),
        removed=sorted(a.keys() - b.keys()),
        changed=sorted(k for k in a.keys() & b.keys() if a[k] != b[k]),
    )


@dataclass(frozen=True)
class CampaignFromDataset:
    campaign_id: int
    campaign: str
    version: VersionInfo
    n_prompts: int
    split: str | None

    def summary(self) -> str:
        where = f" (split {self.split})" if self.split else ""
        return (
            f"Campaign '{self.campaign}' holds {self.n_prompts:,} prompts of"
            f" {self.version.ref}{where}. Import or generate outputs for it next."
        )


def create_campaign_from_dataset(
    engine: Engine, ref: str, campaign: str, *, actor_id: int, split: str | None = None
) -> CampaignFromDataset:
    """A new campaign holding the prompts of dataset version ``ref`` (only ``split``'s, if
    given); each prompt remembers the version. Admins only."""
    name, number = parse_ref(ref)
    with write_session(engine) as s:
        require_admin(s, actor_id)
        info = _resolve(s, name, number)
        query = select(DatasetItem).where(DatasetItem.version_id == info.version_id)
        if split is not None:
            query = query.where(DatasetItem.split == split)
        items = s.exec(query.order_by(DatasetItem.external_id)).all()
        if not items:
            splits = s.exec(
                select(DatasetItem.split)
                .where(DatasetItem.version_id == info.version_id)
                .distinct()
            ).all()
            names = ", ".join(sorted(str(x) for x in splits if x is not None)) or "none"
            raise InvalidInputError(
                f"{info.ref} has no prompts in split '{split}': its splits are {names}."
            )
        camp = _create_campaign(s, campaign)
        camp.dataset_version_id = info.version_id
        camp.updated_at = utcnow()
        s.add(camp)
        s.execute(
            insert(Prompt),
            [
                {
                    "campaign_id": camp.id,
                    "external_id": i.external_id,
                    "messages": i.messages,
                    "reference": i.reference,
                    "category": i.category,
                    "split": i.split,
                    "meta": i.meta,
                    "dataset_version_id": info.version_id,
                }
                for i in items
            ],
        )
        s.commit()
        return CampaignFromDataset(camp.id, camp.name, info, len(items), split)


def campaign_dataset(engine: Engine, campaign_id: int) -> VersionInfo | None:
    """The dataset version a campaign was made from, if any (results name it)."""
    with Session(engine) as s:
        version_id = s.exec(
            select(Campaign.dataset_version_id).where(Campaign.id == campaign_id)
        ).first()
        if version_id is None:
            return None
        version = s.get(DatasetVersion, version_id)
        dataset = s.get(Dataset, version.dataset_id)
        return _info(dataset, version)
