"""``suijian backup`` / ``suijian restore`` on real databases of each backend (pg_dump and
pg_restore of the server's version; SQLite's online backup API): a small demo with audited
evidence round-trips and the restored system verifies its audit chain and evidence; damaged,
incomplete or foreign archives, and a non-empty target, are refused naming the reason."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from enforcement import backup, migrate
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.evidence import EvidenceStore
from enforcement.models import AuditLog, Department, Enterprise, EvidenceFile, Role, User
from enforcement.services import audit
from enforcement.services.evidence import EvidenceService
from enforcement.settings import ENV_OVERRIDES
from tests import factories
from tests.evidence_helpers import make_scene, photo, signature_png
from tests.factories import load_small_demo

PHOTOS = 3


@dataclass
class System:
    """One configured installation: an ini naming a database and an evidence directory."""

    ini: Path
    url: str
    engine: Engine
    store: EvidenceStore
    runner: CliRunner

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(main, ["-c", str(self.ini), *args])
        assert result.exit_code == code, result.output
        return result

    def count(self, model: type) -> int:
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def chain(self) -> dict:
        return json.loads(self("audit", "verify", "--json").output)


def _system(
    root: Path, url: str, *, migrated: bool = True, runner: CliRunner | None = None
) -> System:
    root.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    if migrated:
        migrate.upgrade(engine)
    evidence = root / "evidence"
    ini = root / "suijian.ini"
    ini.write_text(
        "[app:main]\nuse = egg:suijian\n"
        f"sqlalchemy.url = {url.replace('%', '%%')}\n"
        f"suijian.var_dir = {root / 'var'}\n"
        f"suijian.evidence_dir = {evidence}\n",
        encoding="utf-8",
    )
    return System(ini, url, engine, EvidenceStore(evidence), runner or CliRunner())


def _populate(system: System) -> list[str]:
    """The small demo, an inspection with photos and a signature uploaded and attached (each
    audited), and an anchor of the chain; committed. Returns the evidence hashes."""
    with Session(system.engine, expire_on_commit=False) as session:
        factories.bind(session)
        load_small_demo(session, 8)
        scene = make_scene(session, plan_code="2025-BK-001")
        lead = User(
            username="backup-lead",
            display_name="张晓明",
            role=Role.INSPECTOR,
            password_hash="x",
            inspector_id=scene.lead.id,
        )
        session.add(lead)
        session.flush()
        service = EvidenceService(session, lead, system.store, {})
        hashes = []
        for n in range(PHOTOS):
            stored = system.store.put_stream([photo(seed=40 + n)], declared_kind="photo")
            service.register(stored)
            service.attach(scene.inspection.uuid, uuid.uuid4(), stored.sha256, caption=f"现场{n}")
            hashes.append(stored.sha256)
        signature = system.store.put_stream([signature_png()], declared_kind="photo")
        service.register(signature)
        hashes.append(signature.sha256)
        session.commit()
        assert audit.create_anchor(session) is not None
        session.commit()
    return hashes


@dataclass
class Made:
    source: System
    archive: Path
    hashes: list[str]
    report: dict


@pytest.fixture(scope="module")
def made(
    backend: str,
    new_database_url,  # type: ignore[no-untyped-def]
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Made]:
    """A populated source system of the backend and its archive, made once per module."""
    with pytest.MonkeyPatch.context() as patch:
        for variable in (*ENV_OVERRIDES, "SUIJIAN_INI"):
            patch.delenv(variable, raising=False)
        root = tmp_path_factory.mktemp(f"source-{backend}")
        source = _system(root, new_database_url(backend))
        hashes = _populate(source)
        result = source("backup", f"{root / 'backups'}/", "--json")
        report = json.loads(result.output)
        yield Made(source, Path(report["path"]), hashes, report)
        source.engine.dispose()


@pytest.fixture
def target(
    backend: str,
    new_database_url,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[System]:
    """An empty, migrated installation of the same backend to restore into."""
    for variable in (*ENV_OVERRIDES, "SUIJIAN_INI"):
        monkeypatch.delenv(variable, raising=False)
    system = _system(tmp_path / "target", new_database_url(backend))
    yield system
    system.engine.dispose()


def _objects(store: EvidenceStore) -> list[str]:
    return [sha for sha, _ in backup.store_objects(store.root)]


def _rewrite(archive: Path, out: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """Copy the tar member by member; ``change(name, data)`` returns new bytes or None (drop)."""
    with tarfile.open(archive) as src, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            handle = src.extractfile(member)
            assert handle is not None
            data = change(member.name, handle.read())
            if data is None:
                continue
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out


# ---------------------------------------------------------------------- round trip


def test_backup_writes_one_archive_with_a_manifest(made: Made) -> None:
    report = made.report
    assert report["ok"] is True and report["problems"] == []
    assert made.archive.is_file() and made.archive.suffix == ".tar"
    assert made.archive.stat().st_mode & 0o777 == 0o600  # personal data: the owner only
    assert hashlib.sha256(made.archive.read_bytes()).hexdigest() == report["archive_sha256"]
    assert not [p for p in made.archive.parent.iterdir() if p != made.archive]  # no leftovers
    manifest = backup.read_manifest(made.archive).document
    assert manifest["format"] == "suijian-backup" and manifest["format_version"] == 1
    assert manifest["created_at"].endswith("Z")
    assert manifest["alembic_revision"] == migrate.head_revision()
    assert manifest["database"]["backend"] == made.source.engine.dialect.name
    files = {entry["name"]: entry for entry in manifest["files"]}
    for sha in made.hashes:
        entry = files[f"evidence/{sha[:2]}/{sha[2:4]}/{sha}"]
        assert entry["sha256"] == sha
        assert entry["size"] == made.source.store.path_for(sha).stat().st_size
    assert manifest["evidence"]["files"] == report["evidence_files"] == len(made.hashes)
    if manifest["database"]["backend"] == "postgresql":
        with tarfile.open(made.archive) as tar:
            head = tar.extractfile(manifest["database"]["member"]).read(5)  # type: ignore[union-attr]
        assert head == b"PGDMP"  # pg_dump's custom format
        assert manifest["database"]["tool"].startswith("pg_dump (PostgreSQL) ")
        assert manifest["database"]["server_major"] == int(
            manifest["database"]["server_version"].split(".")[0]
        )
    # --check reads every member and changes nothing
    checked = made.source("restore", "--check", str(made.archive))
    assert f"archive OK: {len(files)} member(s) match the manifest" in checked.output


def test_a_gzipped_archive_is_read_too(made: Made, tmp_path: Path) -> None:
    packed = tmp_path / "archive.tar.gz"
    with open(made.archive, "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    checked = made.source("restore", "--check", str(packed))
    assert "archive OK" in checked.output


def test_round_trip_restores_a_system_that_verifies(made: Made, target: System) -> None:
    source = made.source
    before = source.chain()
    assert target.count(Enterprise) == 0 and _objects(target.store) == []

    result = target("restore", str(made.archive))
    assert "audit chain OK" in result.output and "evidence OK" in result.output
    assert f"{len(made.hashes)} evidence file(s) ({len(made.hashes)} written)" in result.output

    after = target.chain()  # the ordinary command on the restored system
    assert after["ok"] is True and after["anchors"] == 1
    assert (after["entries"], after["head_hash"]) == (before["entries"], before["head_hash"])
    for model in (Enterprise, Department, User, EvidenceFile, AuditLog):
        assert target.count(model) == source.count(model) > 0, model.__name__
    assert sorted(_objects(target.store)) == sorted(made.hashes)
    assert all(target.store.verify(sha) for sha in made.hashes)
    assert "models and migrations agree" in target("db", "check").output

    # the restored system works: new audited actions extend the restored chain
    with Session(target.engine) as session:
        department = session.scalars(select(Department).limit(1)).one()
        audit.record(session, None, "test.after_restore", department, {"ok": True})
        session.commit()
    extended = target.chain()
    assert extended["ok"] is True and extended["entries"] == before["entries"] + 1


def test_restore_over_a_database_with_data_needs_force(made: Made, target: System) -> None:
    target("restore", str(made.archive))
    restored = target.chain()
    with Session(target.engine) as session:
        department = session.scalars(select(Department).limit(1)).one()
        audit.record(session, None, "test.after_backup", department, {"n": 1})
        session.commit()

    refused = target("restore", str(made.archive), code=1)
    assert "restore refused: the configured database is not empty" in refused.output
    assert "--force" in refused.output
    assert target.chain()["entries"] == restored["entries"] + 1  # untouched

    forced = target("restore", "--force", "--json", str(made.archive))
    report = json.loads(forced.output)
    assert report["ok"] is True and report["evidence_placed"] == 0  # already there, intact
    again = target.chain()  # the row written after the backup is gone with the rest
    assert (again["entries"], again["head_hash"]) == (restored["entries"], restored["head_hash"])


def test_restore_into_a_database_without_schema(
    made: Made,
    backend: str,
    new_database_url,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in (*ENV_OVERRIDES, "SUIJIAN_INI"):
        monkeypatch.delenv(variable, raising=False)
    fresh = _system(tmp_path / "fresh", new_database_url(backend), migrated=False)
    try:
        report = json.loads(fresh("restore", "--json", str(made.archive)).output)
        assert report["ok"] is True and report["revision"] == report["head"]
        assert report["audit"]["entries"] == made.source.chain()["entries"]
        assert report["evidence"]["files"] == len(made.hashes)
    finally:
        fresh.engine.dispose()


def test_backup_while_a_write_is_open_is_a_consistent_snapshot(
    made: Made, target: System, tmp_path: Path
) -> None:
    """The app keeps running during a backup: an open (uncommitted) write neither blocks the
    backup nor appears in it."""
    source = made.source
    with Session(source.engine) as session:
        department = Department(code="BK-OPEN", name="备份期间未提交的部门")
        session.add(department)
        session.flush()
        audit.record(session, None, "test.open_write", department, {})
        session.flush()  # rows written, transaction open
        result = source("backup", str(tmp_path / "live.tar"))
        session.rollback()
    assert "backup written" in result.output

    target("restore", str(tmp_path / "live.tar"))
    with Session(target.engine) as session:
        assert session.scalar(select(Department).where(Department.code == "BK-OPEN")) is None
    assert target.chain()["entries"] == source.chain()["entries"]


# ---------------------------------------------------------------------- refusals


def _member(archive: Path, prefix: str) -> tarfile.TarInfo:
    with tarfile.open(archive) as tar:
        return next(m for m in tar.getmembers() if m.name.startswith(prefix))


@pytest.mark.parametrize("prefix", ["evidence/", "database/"])
def test_an_archive_altered_by_one_byte_is_refused_naming_the_member(
    made: Made, target: System, tmp_path: Path, prefix: str
) -> None:
    tampered = tmp_path / "tampered.tar"
    shutil.copyfile(made.archive, tampered)
    member = _member(tampered, prefix)
    with open(tampered, "r+b") as f:
        f.seek(member.offset_data + member.size // 2)
        byte = f.read(1)
        f.seek(-1, io.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x01]))

    checked = target("restore", "--check", str(tampered), code=1)
    assert f"archive check failed: archive member {member.name}: content hashes to" in (
        checked.output
    )
    refused = target("restore", str(tampered), code=1)
    assert f"restore failed: archive member {member.name}: content hashes to" in refused.output
    assert "the archive was damaged or altered" in refused.output
    # nothing was touched: the database is empty, no evidence placed, no staging left
    assert target.count(Enterprise) == 0 and target.count(AuditLog) == 0
    assert _objects(target.store) == []
    assert list((target.store.root / ".tmp").iterdir()) == []


def test_an_evidence_blob_missing_from_the_archive_is_detected(
    made: Made, target: System, tmp_path: Path
) -> None:
    gone = made.hashes[1]
    name = f"evidence/{gone[:2]}/{gone[2:4]}/{gone}"
    incomplete = _rewrite(
        made.archive, tmp_path / "incomplete.tar", lambda n, data: None if n == name else data
    )
    refused = target("restore", str(incomplete), code=1)
    assert (
        f"archive member {name}: listed in the manifest but absent from the archive"
        in refused.output
    )
    assert target.count(Enterprise) == 0 and _objects(target.store) == []


def test_a_blob_lost_or_damaged_in_the_live_store_is_reported_by_backup_and_restore(
    made: Made,
    backend: str,
    new_database_url,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    target: System,
) -> None:
    # A copy of the source system whose store lost one object and has another one altered
    # (a disk fault, a bad hand).
    damaged = _system(tmp_path / "damaged", new_database_url(backend), migrated=False)
    try:
        damaged("restore", str(made.archive))
        lost, rotten = made.hashes[0], made.hashes[2]
        path = damaged.store.path_for(lost)
        path.chmod(0o644)
        path.unlink()
        path = damaged.store.path_for(rotten)
        path.chmod(0o644)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        now = hashlib.sha256(data).hexdigest()

        written = damaged("backup", str(tmp_path / "out.tar"), code=1)
        assert f"PROBLEM: evidence {lost} is named by the database but missing" in written.output
        assert (
            f"PROBLEM: evidence {rotten} is damaged in the store: its bytes hash to {now}"
            in written.output
        )
        assert "backup written, but the live system has 2 evidence problem(s)" in written.output
        assert (tmp_path / "out.tar").is_file()
        checked = target("restore", "--check", str(tmp_path / "out.tar"), code=1)
        name = f"evidence/{rotten[:2]}/{rotten[2:4]}/{rotten}"
        assert f"PROBLEM: {name} was archived damaged" in checked.output

        restored = target("restore", str(tmp_path / "out.tar"), code=1)
        assert f"evidence PROBLEM: evidence {lost} is missing from the store" in restored.output
        assert f"evidence PROBLEM: evidence {rotten}: its bytes hash to {now}" in restored.output
        assert "audit chain OK" in restored.output
        assert "restore done but verification FAILED: evidence" in restored.output
    finally:
        damaged.engine.dispose()


def test_a_dump_that_fails_to_restore_leaves_the_database_as_it_was(
    made: Made, target: System, tmp_path: Path
) -> None:
    """A truncated dump whose manifest agrees (made so by hand): the database restore fails
    part-way, and the data already there survives (PostgreSQL: one transaction; SQLite: the
    copy is checked before it is written)."""
    target("restore", str(made.archive))
    with Session(target.engine) as session:
        department = session.scalars(select(Department).limit(1)).one()
        audit.record(session, None, "test.before_failed_restore", department, {})
        session.commit()
    before = target.chain()
    member = backup.read_manifest(made.archive).database_member

    def truncate(name: str, data: bytes) -> bytes:
        return data[: len(data) * 6 // 10] if name == member else data

    cut = _rewrite(made.archive, tmp_path / "cut.tar", truncate)
    with tarfile.open(cut) as tar:
        short = tar.extractfile(member).read()  # type: ignore[union-attr]
    manifest = backup.read_manifest(cut).document
    for entry in manifest["files"]:
        if entry["name"] == member:
            entry.update(sha256=hashlib.sha256(short).hexdigest(), size=len(short))
    body = json.dumps(manifest).encode()
    consistent = _rewrite(
        cut, tmp_path / "consistent.tar", lambda n, d: body if n == backup.MANIFEST else d
    )

    failed = target("restore", "--force", str(consistent), code=1)
    assert "restore failed:" in failed.output and "the database is unchanged" in failed.output
    after = target.chain()
    assert (after["entries"], after["head_hash"]) == (before["entries"], before["head_hash"])
    assert target.count(Enterprise) == made.source.count(Enterprise)


def test_an_archive_from_newer_code_is_refused(made: Made, target: System, tmp_path: Path) -> None:
    def newer(name: str, data: bytes) -> bytes:
        if name != backup.MANIFEST:
            return data
        document = json.loads(data)
        document["alembic_revision"] = "9999"
        return json.dumps(document).encode()

    future = _rewrite(made.archive, tmp_path / "future.tar", newer)
    refused = target("restore", str(future), code=1)
    assert "restore refused: the archive's schema is at revision 9999" in refused.output
    assert "made by a newer version of Suijian" in refused.output
    assert target.count(Enterprise) == 0


def test_an_archive_of_the_other_backend_or_not_an_archive_is_refused(
    made: Made, target: System, tmp_path: Path
) -> None:
    other = "sqlite" if made.source.engine.dialect.name == "postgresql" else "postgresql"

    def foreign(name: str, data: bytes) -> bytes:
        if name != backup.MANIFEST:
            return data
        document = json.loads(data)
        mine = document["database"]["member"]
        document["database"]["backend"] = other
        document["database"]["member"] = backup.DATABASE_MEMBERS[other]
        for entry in document["files"]:
            if entry["name"] == mine:
                entry["name"] = backup.DATABASE_MEMBERS[other]
        return json.dumps(document).encode()

    refused = target("restore", str(_rewrite(made.archive, tmp_path / "f.tar", foreign)), code=1)
    assert f"restore refused: the archive holds a {other} database" in refused.output

    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar archive at all" * 100)
    assert "not a readable tar archive" in target("restore", str(junk), code=1).output


def test_backup_refuses_an_existing_file(made: Made) -> None:
    result = made.source("backup", str(made.archive), code=1)
    assert f"backup failed: {made.archive} already exists" in result.output


def test_pg_tools_come_from_the_configured_directory(made: Made, tmp_path: Path) -> None:
    """``suijian.backup.pg_bindir`` names where pg_dump is; a wrong one is named in the
    refusal (PostgreSQL). SQLite needs no tools and ignores it."""
    source = made.source
    ini = tmp_path / "tools.ini"
    ini.write_text(
        source.ini.read_text(encoding="utf-8") + f"suijian.backup.pg_bindir = {tmp_path}\n",
        encoding="utf-8",
    )
    result = source.runner.invoke(main, ["-c", str(ini), "backup", str(tmp_path / "t.tar")])
    if source.engine.dialect.name == "postgresql":
        assert result.exit_code == 1, result.output
        assert "backup failed: no pg_dump/pg_restore/psql of PostgreSQL" in result.output
        assert f"tried {tmp_path} (no pg_dump)" in result.output
        assert "set suijian.backup.pg_bindir" in result.output
        assert not (tmp_path / "t.tar").exists()
        assert [p.name for p in tmp_path.iterdir()] == ["tools.ini"]  # no leftovers
    else:
        assert result.exit_code == 0, result.output
        assert (tmp_path / "t.tar").is_file()
