"""Backups of the system of record: the database and the evidence store in one archive, and
their restore with verification. See docs/reliability.md ("Backups").

The archive is an uncompressed POSIX tar (the PostgreSQL dump is compressed already, evidence
is mostly JPEG) holding::

    database/suijian.pgdump | database/suijian.sqlite   the database
    evidence/ab/cd/abcd…(64 hex)                         every object of the evidence store
    manifest.json                                        what it holds, with SHA-256 and sizes

* PostgreSQL is dumped with ``pg_dump -Fc`` of the server's major version (one consistent
  snapshot while the application runs) and restored with ``pg_restore`` of that version,
  streamed into ``psql`` inside one transaction that first drops the old tables: a failed
  restore leaves the database as it was.
* SQLite is copied with the online backup API (a consistent snapshot, readers and writers
  carry on) and restored with the same API into the configured file, so a live WAL file is
  never paired with a foreign database file.
* The database is dumped before the evidence is copied: evidence is stored before the row
  naming it commits, so every file the dump names is in the store by then.
* ``restore`` reads the whole archive once, checking every member against the manifest while
  it is staged beside the evidence store, and touches nothing until all of it matches. Then it
  places the evidence (content-addressed, so existing objects are kept), restores the
  database, and verifies the audit chain and every evidence file the database names.

Files are streamed in 1 MiB blocks; nothing is read whole into memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.evidence import EvidenceStorageError, EvidenceStore
from enforcement.models import Base, EvidenceFile, FieldInspection
from enforcement.services import audit
from enforcement.services.evidence import evidence_store

FORMAT = "suijian-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {
    "postgresql": "database/suijian.pgdump",
    "sqlite": "database/suijian.sqlite",
}
EVIDENCE_PREFIX = "evidence/"
BLOCK = 1024 * 1024
#: Optional setting: the directory of pg_dump/pg_restore/psql (default: found by version).
PG_BINDIR_SETTING = "suijian.backup.pg_bindir"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX2 = re.compile(r"[0-9a-f]{2}")
_PG_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_STAGE_PREFIX = "restore-"
# Our tables are created by migrations in "public"; PostGIS's own objects there are
# extension members and are kept (CREATE EXTENSION needs rights the app may not have twice).
# A lock timeout: a web app or worker still connected fails the restore instead of hanging.
_PG_WIPE = """
SET client_min_messages = warning;
SET lock_timeout = '30s';
DO $wipe$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
  LOOP
    -- names are text taken before the loop: a table's owned sequence may already be gone
    EXECUTE format('DROP %s IF EXISTS %s CASCADE',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                     WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
      r.name);
  END LOOP;
END
$wipe$;
"""


class BackupError(RuntimeError):
    """A backup or restore failed or was refused; the message says what and why."""


class ArchiveInvalidError(BackupError):
    """The archive does not match its manifest (damaged, altered or incomplete); ``member``
    names the first member found wrong."""

    def __init__(self, member: str, problem: str) -> None:
        super().__init__(f"archive member {member}: {problem}")
        self.member = member
        self.problem = problem


class RestoreRefusedError(BackupError):
    """The restore would be wrong here (non-empty database, newer schema, other backend)."""


# ---------------------------------------------------------------------- results


@dataclass
class EvidenceReport:
    """Every evidence file the database names, checked in the store: present, of the
    recorded size, and hashing to its name."""

    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # "sha256: what is wrong"

    @property
    def ok(self) -> bool:
        return not self.missing and not self.damaged

    def problems(self) -> list[str]:
        return [f"evidence {sha} is missing from the store" for sha in self.missing] + [
            f"evidence {text}" for text in self.damaged
        ]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class BackupResult:
    path: Path
    archive_sha256: str
    size: int
    seconds: float
    backend: str
    revision: str | None
    database_bytes: int
    evidence_files: int
    evidence_bytes: int
    problems: list[str]  # the live system's defects found on the way (archive still written)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "ok": not self.problems}


@dataclass
class RestoreResult:
    archive: Path
    backend: str
    revision: str | None
    head: str | None
    created_at: str
    database_bytes: int
    evidence_files: int
    evidence_placed: int  # objects written (the rest were already present and intact)
    seconds: float
    audit: audit.ChainReport
    evidence: EvidenceReport

    @property
    def ok(self) -> bool:
        return self.audit.ok and self.evidence.ok

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document.update(
            archive=str(self.archive),
            audit=self.audit.as_dict(),
            evidence=self.evidence.as_dict(),
            ok=self.ok,
        )
        return document


# ---------------------------------------------------------------------- streams


class _HashingReader:
    """Wraps a binary file: hashes and counts what is read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


class _HashingWriter:
    """Wraps a binary file: hashes what is written (the archive's own SHA-256)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.raw.write(data)

    def tell(self) -> int:
        return self.raw.tell()

    def flush(self) -> None:
        self.raw.flush()


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _store(settings: Mapping[str, Any]) -> EvidenceStore:
    try:
        return evidence_store(settings)
    except (OSError, ValueError, EvidenceStorageError) as exc:
        raise BackupError(f"the evidence store cannot be opened: {exc}") from exc


def backend_of(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in DATABASE_MEMBERS:
        raise BackupError(f"database backend {name!r} is not supported (postgresql or sqlite)")
    return name


def app_version() -> str:
    try:
        return importlib.metadata.version("suijian")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------- PostgreSQL tools


@dataclass(frozen=True)
class PgTools:
    bindir: Path
    major: int
    server_version: str
    tool_version: str

    def run_env(self, engine: Engine) -> tuple[str, dict[str, str]]:
        """libpq connection URI without the password, and the environment carrying it (so it
        never shows in the process list)."""
        url = engine.url
        env = dict(os.environ)
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        conninfo = url.set(drivername="postgresql", password=None).render_as_string(
            hide_password=False
        )
        return conninfo, env

    def path(self, tool: str) -> str:
        return str(self.bindir / tool)


def _tool_major(binary: Path) -> tuple[int, str] | None:
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _PG_VERSION.search(out)
    return (int(match.group(1)), out.strip()) if match else None


def pg_tools(engine: Engine, settings: Mapping[str, Any]) -> PgTools:
    """pg_dump, pg_restore and psql of the server's major version: the configured
    ``suijian.backup.pg_bindir``, else Debian's /usr/lib/postgresql/<major>/bin, else PATH."""
    with engine.connect() as connection:
        number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
        shown = str(connection.execute(text("SHOW server_version")).scalar_one())
    major = number // 10000
    configured = str(settings.get(PG_BINDIR_SETTING) or "").strip()
    if configured:
        candidates = [Path(configured)]
    else:
        candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
        on_path = shutil.which("pg_dump")
        if on_path:
            candidates.append(Path(on_path).parent)
    tried = []
    for bindir in candidates:
        found = _tool_major(bindir / "pg_dump")
        tried.append(f"{bindir} ({'no pg_dump' if found is None else f'version {found[0]}'})")
        if found is None or found[0] != major:
            continue
        if all((bindir / tool).is_file() for tool in ("pg_restore", "psql")):
            return PgTools(bindir, major, shown, found[1])
    raise BackupError(
        f"no pg_dump/pg_restore/psql of PostgreSQL {major} (the server's version, {shown}) "
        f"found; tried {', '.join(tried)}: install postgresql-client-{major} or set "
        f"{PG_BINDIR_SETTING} in the ini"
    )


def _run_checked(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


# ---------------------------------------------------------------------- backup


def _dump_database(engine: Engine, settings: Mapping[str, Any], target: Path) -> dict[str, Any]:
    """Write a consistent copy of the database to ``target``; its manifest description."""
    backend = backend_of(engine)
    if backend == "postgresql":
        tools = pg_tools(engine, settings)
        conninfo, env = tools.run_env(engine)
        # -O -x: no owners or grants, so the archive restores under another role too.
        _run_checked(
            [tools.path("pg_dump"), "-Fc", "-O", "-x", "-f", str(target), "-d", conninfo],
            env,
            "pg_dump",
        )
        return {
            "backend": backend,
            "server_version": tools.server_version,
            "server_major": tools.major,
            "tool": tools.tool_version,
        }
    source = _sqlite_path(engine)
    if not source.is_file():
        raise BackupError(f"the SQLite database {source} does not exist")
    # Not mode=ro: with WAL, a reader may have to create the -shm file when the app is down.
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: one read transaction, one snapshot
        # A self-contained file: rollback journal, no -wal beside it.
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()
    return {"backend": backend, "sqlite_version": sqlite3.sqlite_version}


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if database in (None, "", ":memory:") or str(database).startswith("file:"):
        raise BackupError(f"cannot back up SQLite database {database!r}: not a file path")
    return Path(str(database)).resolve()


def store_objects(root: Path) -> Iterator[tuple[str, Path]]:
    """``(sha256, path)`` of every object of the evidence store, in name order; temporary and
    upload directories (``.tmp``, ``.uploads``…) are not objects."""
    if not root.is_dir():
        return
    for first in sorted(p for p in root.iterdir() if _HEX2.fullmatch(p.name) and p.is_dir()):
        for second in sorted(p for p in first.iterdir() if _HEX2.fullmatch(p.name) and p.is_dir()):
            for obj in sorted(second.iterdir()):
                name = obj.name
                if (
                    _HEX64.fullmatch(name)
                    and name[:2] == first.name
                    and name[2:4] == second.name
                    and obj.is_file()
                ):
                    yield name, obj


def _referenced_evidence(session: Session) -> dict[str, int | None]:
    """Every evidence hash the database names, with its recorded size where there is one."""
    wanted: dict[str, int | None] = {}
    for column in (FieldInspection.signature_sha256, FieldInspection.record_sha256):
        for (sha,) in session.execute(select(column).where(column.is_not(None)).distinct()):
            wanted[sha] = None
    for sha, size in session.execute(select(EvidenceFile.sha256, EvidenceFile.size)):
        wanted[sha] = size
    return wanted


def default_backup_name(now: dt.datetime | None = None) -> str:
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"suijian-backup-{now:%Y%m%dT%H%M%SZ}.tar"


def create_backup(
    settings: Mapping[str, Any],
    engine: Engine,
    output: Path,
    *,
    store: EvidenceStore | None = None,
) -> BackupResult:
    """Write the archive to ``output`` (a directory: a time-stamped name inside it), via a
    temporary file renamed into place. Damage found in the live evidence store is archived
    as it is and listed in ``problems``."""
    started = time.perf_counter()
    backend = backend_of(engine)
    store = store or _store(settings)
    output = Path(output)
    if output.is_dir():
        output = output / default_backup_name()
    if output.exists():
        raise BackupError(f"{output} already exists: choose another name")
    output.parent.mkdir(parents=True, exist_ok=True)
    revision = migrate.current_revision(engine)
    if revision is None:
        raise BackupError("the database has no schema (revision base): nothing to back up")

    fd, partial_name = tempfile.mkstemp(
        prefix=f".{output.name}.", suffix=".partial", dir=output.parent
    )
    partial = Path(partial_name)
    work = Path(tempfile.mkdtemp(prefix="suijian-backup-", dir=output.parent))
    try:
        member = DATABASE_MEMBERS[backend]
        dump_path = work / Path(member).name
        database = _dump_database(engine, settings, dump_path)
        with Session(engine) as session:
            referenced = _referenced_evidence(session)
        files: list[dict[str, Any]] = []
        problems: list[str] = []
        archived: dict[str, int] = {}
        with os.fdopen(fd, "wb") as raw:
            writer = _HashingWriter(raw)
            with tarfile.open(fileobj=writer, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                entry = _add_file(tar, member, dump_path)
                files.append(entry)
                database.update(member=member, sha256=entry["sha256"], size=entry["size"])
                for sha, path in store_objects(store.root):
                    entry = _add_file(tar, f"{EVIDENCE_PREFIX}{sha[:2]}/{sha[2:4]}/{sha}", path)
                    files.append(entry)
                    archived[sha] = entry["size"]
                    if entry["sha256"] != sha:
                        problems.append(
                            f"evidence {sha} is damaged in the store: its bytes hash to "
                            f"{entry['sha256']}"
                        )
                for sha, size in sorted(referenced.items()):
                    if sha not in archived:
                        problems.append(f"evidence {sha} is named by the database but missing")
                    elif size is not None and archived[sha] != size:
                        problems.append(
                            f"evidence {sha} has {archived[sha]} bytes, the database says {size}"
                        )
                evidence_bytes = sum(archived.values())
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
                    "app_version": app_version(),
                    "alembic_revision": revision,
                    "database": database,
                    "evidence": {"files": len(archived), "bytes": evidence_bytes},
                    "problems": problems,
                    "files": files,
                }
                body = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
                info = _tarinfo(MANIFEST, len(body))
                tar.addfile(info, _BytesReader(body))
            raw.flush()
            os.fsync(raw.fileno())
        partial.chmod(0o600)  # the archive holds personal data: the owner only
        partial.rename(output)
        _fsync_dir(output.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(
        path=output,
        archive_sha256=writer.digest.hexdigest(),
        size=output.stat().st_size,
        seconds=round(time.perf_counter() - started, 3),
        backend=backend,
        revision=revision,
        database_bytes=int(database["size"]),
        evidence_files=len(archived),
        evidence_bytes=evidence_bytes,
        problems=problems,
    )


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.data) if n < 0 else self.at + n
        chunk, self.at = self.data[self.at : end], min(end, len(self.data))
        return chunk


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o444
    info.mtime = int(time.time())
    return info


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size  # evidence objects never change once named
        reader = _HashingReader(f)
        tar.addfile(_tarinfo(name, size), reader)  # type: ignore[arg-type]
    if reader.size != size:
        raise BackupError(f"{path} changed size while it was archived")
    return {"name": name, "sha256": reader.digest.hexdigest(), "size": size}


# ---------------------------------------------------------------------- reading archives


@dataclass
class Manifest:
    document: dict[str, Any]
    #: Evidence members whose bytes do not hash to their name (set by :func:`verify_archive`).
    damaged: list[str] = field(default_factory=list)

    @property
    def backend(self) -> str:
        return str(self.document["database"]["backend"])

    @property
    def revision(self) -> str | None:
        return self.document.get("alembic_revision")

    @property
    def database_member(self) -> str:
        return str(self.document["database"]["member"])

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return {entry["name"]: entry for entry in self.document["files"]}


def read_manifest(archive: Path) -> Manifest:
    """The archive's manifest, checked for form (not yet against the members)."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            try:
                member = tar.getmember(MANIFEST)
            except KeyError:
                raise ArchiveInvalidError(MANIFEST, "missing: not a Suijian backup") from None
            handle = tar.extractfile(member)
            if handle is None:
                raise ArchiveInvalidError(MANIFEST, "not a regular file")
            body = handle.read(16 * 1024 * 1024 + 1)  # a million files' entries at most
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{archive}: not a readable tar archive ({exc})") from exc
    try:
        document = json.loads(body.decode("utf-8"))
        if document.get("format") != FORMAT:
            raise ValueError(f"format is {document.get('format')!r}, not {FORMAT!r}")
        version = document.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"format_version {version!r}: this code reads version {FORMAT_VERSION} or older"
            )
        database = document["database"]
        if database.get("backend") not in DATABASE_MEMBERS:
            raise ValueError(f"database.backend {database.get('backend')!r} is not supported")
        if database.get("member") != DATABASE_MEMBERS[database["backend"]]:
            raise ValueError(f"database.member {database.get('member')!r} is unexpected")
        names = set()
        for entry in document["files"]:
            name, sha, size = entry["name"], entry["sha256"], entry["size"]
            if not isinstance(size, int) or size < 0 or not _HEX64.fullmatch(str(sha)):
                raise ValueError(f"files: entry {name!r} has no valid sha256 and size")
            if name in names:
                raise ValueError(f"files: {name!r} is listed twice")
            names.add(name)
        if database["member"] not in names:
            raise ValueError(f"files: the database {database['member']!r} is not listed")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ArchiveInvalidError(MANIFEST, f"invalid ({exc})") from exc
    return Manifest(document)


def _evidence_sha(name: str) -> str | None:
    """The hash an evidence member is named by, or None when the name is not one."""
    if not name.startswith(EVIDENCE_PREFIX):
        return None
    parts = name[len(EVIDENCE_PREFIX) :].split("/")
    if len(parts) != 3 or not _HEX64.fullmatch(parts[2]):
        return None
    sha = parts[2]
    return sha if parts[0] == sha[:2] and parts[1] == sha[2:4] else None


def verify_archive(archive: Path, stage: Path | None = None) -> Manifest:
    """Read every member once and check it against the manifest: listed, of its size, of its
    SHA-256, nothing listed missing (evidence members not hashing to their own name are
    listed in ``damaged``). With
    ``stage`` each member is also written there (under its member name). Raises
    :class:`ArchiveInvalidError` naming the first wrong member."""
    manifest = read_manifest(archive)
    expected = manifest.files
    seen: set[str] = set()
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                name = member.name
                if name == MANIFEST:
                    continue
                entry = expected.get(name)
                if entry is None:
                    raise ArchiveInvalidError(name, "not listed in the manifest")
                if name in seen:
                    raise ArchiveInvalidError(name, "present twice")
                if name != manifest.database_member and _evidence_sha(name) is None:
                    raise ArchiveInvalidError(name, "not a database or evidence member")
                if not member.isfile():
                    raise ArchiveInvalidError(name, "not a regular file")
                if member.size != entry["size"]:
                    raise ArchiveInvalidError(
                        name, f"{member.size} bytes, the manifest says {entry['size']}"
                    )
                digest = _copy_member(tar, member, None if stage is None else stage / name)
                if digest != entry["sha256"]:
                    raise ArchiveInvalidError(
                        name,
                        f"content hashes to {digest}, the manifest says {entry['sha256']}: "
                        "the archive was damaged or altered",
                    )
                seen.add(name)
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{archive}: unreadable ({exc})") from exc
    missing = sorted(set(expected) - seen)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ArchiveInvalidError(
            missing[0], f"listed in the manifest but absent from the archive{more}"
        )
    # An object already damaged in the store when it was archived is kept as it was (the
    # backup listed it as a problem); the restore's evidence check names it again.
    manifest.damaged = sorted(
        name
        for name, entry in expected.items()
        if (sha := _evidence_sha(name)) is not None and sha != entry["sha256"]
    )
    return manifest


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path | None) -> str:
    source = tar.extractfile(member)
    assert source is not None
    digest = hashlib.sha256()
    out = None
    try:
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            out = open(target, "wb")  # noqa: SIM115 (closed below)
        while block := source.read(BLOCK):
            digest.update(block)
            if out is not None:
                out.write(block)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        if out is None and target is None:
            raise  # reading the archive: the caller names it
        raise BackupError(
            f"cannot stage {member.name} in {target.parent if target else '-'}: {exc}; "
            "nothing was changed"
        ) from exc
    finally:
        if out is not None:
            out.close()
    return digest.hexdigest()


# ---------------------------------------------------------------------- restore


def tables_with_rows(engine: Engine) -> list[str]:
    """The application's tables in this database that hold at least one row."""
    present = set(inspect(engine).get_table_names())
    found = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if (
                table.name in present
                and connection.execute(select(text("1")).select_from(table).limit(1)).first()
            ):
                found.append(table.name)
    return found


def _check_revision(revision: str | None) -> None:
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    if revision is None:
        raise RestoreRefusedError("the archive's database has no schema revision")
    try:
        known = script.get_revision(revision)
    except (CommandError, RevisionError):
        known = None
    if known is None:
        raise RestoreRefusedError(
            f"the archive's schema is at revision {revision}, which this code does not know "
            f"(its head is {script.get_current_head()}): the archive was made by a newer "
            "version of Suijian; restore it with that version"
        )


def restore_backup(
    settings: Mapping[str, Any],
    engine: Engine,
    archive: Path,
    *,
    force: bool = False,
    store: EvidenceStore | None = None,
) -> RestoreResult:
    """Verify ``archive`` in full, then restore it into the configured database and evidence
    store, then verify the audit chain and the evidence. Refusals and failures raise
    :class:`BackupError` subclasses before anything is changed (except a database restore
    that fails midway, which leaves the database as it was)."""
    started = time.perf_counter()
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    backend = backend_of(engine)
    manifest = read_manifest(archive)
    if manifest.backend != backend:
        raise RestoreRefusedError(
            f"the archive holds a {manifest.backend} database, the configured database is "
            f"{backend}: configure a {manifest.backend} database to restore it"
        )
    _check_revision(manifest.revision)
    tools = pg_tools(engine, settings) if backend == "postgresql" else None
    if tools is not None:
        made_by = manifest.document["database"].get("server_major")
        if isinstance(made_by, int) and made_by > tools.major:
            raise RestoreRefusedError(
                f"the archive was dumped from PostgreSQL {made_by}, the server is "
                f"{tools.major}: restore it into PostgreSQL {made_by} or newer"
            )
    occupied = tables_with_rows(engine)
    if occupied and not force:
        shown = ", ".join(occupied[:5]) + (" …" if len(occupied) > 5 else "")
        raise RestoreRefusedError(
            f"the configured database is not empty ({len(occupied)} tables hold rows: "
            f"{shown}); restore over it with --force, which replaces all of its data"
        )

    store = store or _store(settings)
    stage = Path(tempfile.mkdtemp(prefix=_STAGE_PREFIX, dir=store.root / ".tmp"))
    try:
        verify_archive(archive, stage)
        files = manifest.files
        evidence = [(n, _evidence_sha(n)) for n in files if n != manifest.database_member]
        placed = 0
        for name, sha in evidence:
            assert sha is not None
            placed += _place(store, stage / name, sha, files[name]["size"])
        dump = stage / manifest.database_member
        if tools is not None:
            _pg_restore(tools, engine, dump)
        else:
            _sqlite_restore(engine, dump)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    engine.dispose()  # pooled connections may predate the restore

    with Session(engine) as session:
        chain = audit.verify_chain(session)
        checked = verify_evidence(session, store)
    return RestoreResult(
        archive=archive,
        backend=backend,
        revision=migrate.current_revision(engine),
        head=migrate.head_revision(),
        created_at=str(manifest.document.get("created_at")),
        database_bytes=int(files[manifest.database_member]["size"]),
        evidence_files=len(evidence),
        evidence_placed=placed,
        seconds=round(time.perf_counter() - started, 3),
        audit=chain,
        evidence=checked,
    )


def _place(store: EvidenceStore, staged: Path, sha: str, size: int) -> int:
    """Move a verified staged object into the store unless an intact copy is there; 1 if
    it was written."""
    target = store.path_for(sha)
    with contextlib.suppress(FileNotFoundError):
        if target.stat().st_size == size and file_sha256(target)[0] == sha:
            staged.unlink()
            return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.chmod(0o444)
    staged.replace(target)  # same file system (staged under the store's .tmp): atomic
    _fsync_dir(target.parent)
    return 1


def _pg_restore(tools: PgTools, engine: Engine, dump: Path) -> None:
    """Drop our tables and restore the dump in one transaction (psql reads the SQL that
    pg_restore writes; COMMIT is sent only after pg_restore succeeded, so a failure on
    either side rolls everything back)."""
    conninfo, env = tools.run_env(engine)
    listing = subprocess.run(
        [tools.path("pg_restore"), "-l", str(dump)], env=env, capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise BackupError(f"pg_restore -l failed: {listing.stderr.strip()[-2000:]}")
    # The extension itself is the database's (migrations create it): restoring it or its
    # comment needs ownership; the tables are ours.
    kept = [
        line
        for line in listing.stdout.splitlines()
        if not re.search(r"\s(EXTENSION|COMMENT - EXTENSION)\s", line)
    ]
    list_file = dump.with_suffix(".list")
    list_file.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with engine.begin() as connection:  # what migrate.upgrade does before the first table
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()

    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        psql = subprocess.Popen(
            [tools.path("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=env,
        )
        producer = subprocess.Popen(
            [tools.path("pg_restore"), "-O", "-x", "-L", str(list_file), "-f", "-", str(dump)],
            stdout=subprocess.PIPE,
            stderr=restore_err,
            env=env,
        )
        assert psql.stdin is not None and producer.stdout is not None
        broken = False
        try:
            psql.stdin.write(b"BEGIN;\n" + _PG_WIPE.encode("utf-8"))
            while block := producer.stdout.read(BLOCK):
                psql.stdin.write(block)
            produced = producer.wait()
            if produced == 0:
                psql.stdin.write(b"\nCOMMIT;\n")
        except BrokenPipeError:  # psql stopped on an error: its stderr says which
            broken = True
            producer.kill()
            produced = producer.wait()
        finally:
            with contextlib.suppress(BrokenPipeError):
                psql.stdin.close()
            producer.stdout.close()
        code = psql.wait()
        psql_err.seek(0)
        restore_err.seek(0)
        if code != 0 or broken:
            message = psql_err.read().decode("utf-8", "replace").strip()[-2000:]
            raise BackupError(
                f"restoring the database failed (psql exit {code}); the database is unchanged: "
                f"{message}"
            )
        if produced != 0:
            message = restore_err.read().decode("utf-8", "replace").strip()[-2000:]
            raise BackupError(
                f"pg_restore failed (exit {produced}); the database is unchanged: {message}"
            )


def _sqlite_restore(engine: Engine, staged: Path) -> None:
    """Copy the staged database into the configured file with the backup API: SQLite locks
    the target and replaces its pages in one transaction, WAL included."""
    target = _sqlite_path(engine)
    engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{staged}?mode=ro", uri=True)
    try:
        try:
            result = src.execute("PRAGMA integrity_check").fetchone()
        except sqlite3.DatabaseError as exc:
            result = (str(exc),)
        if result is None or result[0] != "ok":
            found = "no answer" if result is None else result[0]
            raise BackupError(
                f"the archived SQLite database fails its integrity check ({found}); "
                "the database is unchanged"
            )
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
        except sqlite3.OperationalError as exc:
            raise BackupError(
                f"cannot write {target} ({exc}): stop the web app and the worker first"
            ) from exc
        finally:
            dst.close()
    finally:
        src.close()


# ---------------------------------------------------------------------- evidence check


def verify_evidence(session: Session, store: EvidenceStore) -> EvidenceReport:
    """Check every evidence file the database names: in the store, of the recorded size,
    hashing to its name. Streams each file."""
    report = EvidenceReport()
    for sha, size in sorted(_referenced_evidence(session).items()):
        report.files += 1
        if not _HEX64.fullmatch(sha):
            report.damaged.append(f"{sha!r}: not a SHA-256 name")
            continue
        path = store.path_for(sha)
        if not path.is_file():
            report.missing.append(sha)
            continue
        digest, actual = file_sha256(path)
        report.bytes += actual
        if size is not None and actual != size:
            report.damaged.append(f"{sha}: {actual} bytes, the database says {size}")
        elif digest != sha:
            report.damaged.append(f"{sha}: its bytes hash to {digest}")
    return report
