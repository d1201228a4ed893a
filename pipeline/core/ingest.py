"""Ingest: turn the files of a landing folder into documents, and every failure into an error row.

Formats
    ``.txt`` (plain text page), ``.html`` / ``.htm`` (HTML page), ``.jsonl`` and ``.parquet`` corpora
    with one article per record (``text`` or ``html``, optional ``id``, ``source`` or ``outlet``,
    ``url``, ``title``, ``published_at`` (or ``date``)).

Metadata for single-page files
    a sidecar ``<name>.meta.json`` beside the file (``{"source": ..., "url": ..., "title": ...,
    "published_at": ...}``) or a ``manifest.csv`` in the file's folder or any parent folder up to the
    landing root (column ``file`` = path relative to the manifest's folder, plus the same fields). The
    sidecar wins over the manifest.

Source (the outlet)
    from metadata, else the first sub-folder name under the landing root, else the URL's domain, else
    ``unknown``; ``source_origin`` records which rule decided.

Identity
    ``doc_id`` = the first 16 hex digits of sha256(source, NUL, content bytes). The same bytes from the
    same source ingested twice (even under two paths) are one document; the same text published by two
    outlets stays two documents, because verbatim reuse across outlets is what this project measures.

Nothing lost
    every file gets a ``raw_files`` row (path, sha256, size); every file or record that cannot be ingested
    becomes an ``IngestError`` (path, record locator, reason code, message, raw excerpt) and the rest goes
    on. Reason codes: ``binary``, ``empty``, ``undecodable``, ``too_large``, ``malformed_json``,
    ``not_an_object``, ``missing_text``, ``unreadable``, ``unsupported_format``, ``bad_metadata``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import date as date_type
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.core.decode import DecodeError, decode_bytes, repair_text

__all__ = [
    "IngestConfig",
    "IngestResult",
    "RawDocument",
    "RawFile",
    "IngestError",
    "ingest_files",
    "scan_landing",
    "parse_datetime",
    "parse_published",
    "PublishedDate",
]

PAGE_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html"}
CORPUS_SUFFIXES = {".jsonl", ".parquet"}
SUPPORTED_SUFFIXES = set(PAGE_SUFFIXES) | CORPUS_SUFFIXES
META_SUFFIX = ".meta.json"
MANIFEST_NAME = "manifest.csv"

_TEXT_FIELDS = ("text", "body", "content")
_HTML_FIELDS = ("html",)
_SOURCE_FIELDS = ("source", "outlet")
_DATE_FIELDS = ("published_at", "date_iso", "date", "published")


@dataclass(frozen=True)
class IngestConfig:
    max_file_bytes: int = 200 * 1024 * 1024  # a whole corpus file (jsonl / parquet)
    max_page_bytes: int = 25 * 1024 * 1024  # one page or one record
    excerpt_chars: int = 300


@dataclass
class RawFile:
    path: str
    sha256: str
    size_bytes: int
    format: str
    n_records: int = 0
    n_documents: int = 0
    n_errors: int = 0


@dataclass
class RawDocument:
    doc_id: str
    source: str
    source_origin: str
    kind: str  # "text" | "html"
    raw_text: str
    path: str
    record: str | None
    external_id: str | None
    url: str | None
    title: str | None
    published_at: datetime | None
    published_at_raw: str | None
    encoding: str
    repairs: list[str]
    content_sha256: str
    n_chars: int
    published_at_precision: str | None = None  # day / local_time / time (see parse_published)
    published_at_flag: str | None = None  # unparseable / future / before_web: kept raw, not used


@dataclass
class IngestError:
    path: str
    record: str | None
    file_sha256: str | None
    reason: str
    message: str
    raw_excerpt: str | None


@dataclass
class IngestResult:
    files: list[RawFile] = field(default_factory=list)
    documents: list[RawDocument] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)

    def extend(self, other: IngestResult) -> None:
        self.files.extend(other.files)
        self.documents.extend(other.documents)
        self.errors.extend(other.errors)


# ---------------------------------------------------------------------------------------------- helpers


PRECISIONS = ("day", "local_time", "time")
WEB_EPOCH = datetime(1990, 1, 1)  # no web page is older than the web
_NO_DATE = {"nan", "none", "null", "nat"}


@dataclass(frozen=True)
class PublishedDate:
    """A publication date from metadata: the UTC time, its precision and why it is not used.

    ``at``: naive UTC datetime, or None when absent, unparseable or implausible;
    ``precision``: ``day`` (a date only), ``local_time`` (a time without zone), ``time`` (a time whose
    zone was given and converted to UTC), None when ``at`` is None;
    ``flag``: None when usable, else ``unparseable``, ``future`` (after the run's time) or
    ``before_web`` (before 1990 for a web page). A flagged date keeps its raw string in
    ``published_at_raw`` and is never used as a publication time.
    """

    at: datetime | None
    precision: str | None
    flag: str | None


def _parse_text(text: str) -> tuple[datetime, str] | None:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        has_time = len(text) > 10
    except ValueError:
        try:
            from dateutil import parser as dateparser

            # parsed twice with two defaults: fields that differ were not in the text
            d1 = dateparser.parse(text, default=datetime(2000, 1, 1, 0, 0, 0))
            d2 = dateparser.parse(text, default=datetime(2000, 1, 1, 13, 37, 11))
        except (ValueError, OverflowError, TypeError):
            return None
        dt, has_time = d1, (d1.hour, d1.minute) == (d2.hour, d2.minute)
    if dt.tzinfo is not None:
        return dt, "time"
    return dt, "local_time" if has_time else "day"


def parse_published(value: object, *, now: datetime | None = None, web: bool = True) -> PublishedDate:
    """Parse a publication date given in metadata, with its precision and plausibility (see PublishedDate).

    ``now`` is the run's time (default: the current time); ``web``: the document is a web page, so a
    date before 1990 cannot be right.
    """
    if value is None:
        return PublishedDate(None, None, None)
    if isinstance(value, datetime):
        parsed: tuple[datetime, str] | None = (
            value,
            "time" if value.tzinfo is not None else "local_time",
        )
    elif isinstance(value, date_type):
        parsed = (datetime(value.year, value.month, value.day), "day")
    else:
        text = str(value).strip()
        if not text or text.lower() in _NO_DATE:
            return PublishedDate(None, None, None)
        parsed = _parse_text(text)
    if parsed is None:
        return PublishedDate(None, None, "unparseable")
    dt, precision = parsed
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    if precision == "day":
        dt = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if now is None:
        run = datetime.now(UTC).replace(tzinfo=None)
    else:
        run = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    # the earliest instant the value can stand for (a local day or time may be up to 12 h ahead of UTC)
    earliest = dt if precision == "time" else dt - timedelta(hours=12)
    if earliest > run:
        return PublishedDate(None, None, "future")
    if web and dt < WEB_EPOCH:
        return PublishedDate(None, None, "before_web")
    return PublishedDate(dt, precision, None)


def parse_datetime(value: object) -> datetime | None:
    """Parse a date or timestamp given in metadata; return naive UTC or None when absent/unparseable."""
    return parse_published(value, now=datetime.max, web=False).at


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def _clean_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = str(value).strip()
    return text or None


def _excerpt(data: bytes | str, n: int) -> str:
    if isinstance(data, bytes):
        return data[:n].decode("utf-8", errors="backslashreplace")
    return data[:n]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_doc_id(source: str, content: bytes) -> str:
    h = hashlib.sha256()
    h.update(source.encode("utf-8"))
    h.update(b"\x00")
    h.update(content)
    return h.hexdigest()[:16]


def resolve_source(meta_source: str | None, rel_path: str, url: str | None) -> tuple[str, str]:
    if meta_source:
        return meta_source, "metadata"
    parts = Path(rel_path).parts
    if len(parts) > 1:
        return parts[0], "folder"
    domain = _domain(url)
    if domain:
        return domain, "url"
    return "unknown", "unknown"


def scan_landing(root: Path) -> list[Path]:
    """Data files under ``root`` (recursive), sorted; sidecars, manifests and hidden files excluded."""
    root = Path(root)
    found: list[Path] = []
    if not root.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or name.endswith(META_SUFFIX) or name == MANIFEST_NAME:
                continue
            found.append(Path(dirpath) / name)
    return sorted(found)


class _Manifests:
    """Per-folder manifest.csv lookups (cached); errors are reported once per manifest."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[Path, dict[str, dict] | None] = {}
        self.errors: list[IngestError] = []

    def _load(self, folder: Path) -> dict[str, dict] | None:
        if folder in self.cache:
            return self.cache[folder]
        path = folder / MANIFEST_NAME
        table: dict[str, dict] | None = None
        if path.is_file():
            try:
                text, _ = repair_text(path.read_bytes().decode("utf-8-sig"))
                reader = csv.DictReader(io.StringIO(text))
                table = {}
                for row in reader:
                    key = (row.get("file") or row.get("path") or "").strip()
                    if key:
                        table[key] = {
                            k.strip(): v for k, v in row.items() if k and k.strip() not in ("file", "path")
                        }
            except (UnicodeDecodeError, csv.Error, OSError) as exc:
                rel = str(path.relative_to(self.root))
                self.errors.append(
                    IngestError(rel, None, None, "bad_metadata", f"manifest unreadable: {exc}", None)
                )
                table = None
        self.cache[folder] = table
        return table

    def lookup(self, file: Path) -> dict:
        folder = file.parent
        while True:
            table = self._load(folder)
            if table:
                key = file.relative_to(folder).as_posix()
                if key in table:
                    return table[key]
            if folder == self.root or self.root not in folder.parents:
                return {}
            folder = folder.parent


def _read_sidecar(file: Path, rel: str, errors: list[IngestError]) -> dict:
    sidecar = file.with_name(file.name + ".meta.json")
    if not sidecar.is_file():
        alt = file.with_suffix(META_SUFFIX)
        sidecar = alt if alt.is_file() else sidecar
    if not sidecar.is_file():
        return {}
    try:
        meta = json.loads(sidecar.read_bytes().decode("utf-8-sig"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
        return meta
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        errors.append(
            IngestError(
                rel, "metadata", None, "bad_metadata", f"sidecar {sidecar.name} unreadable: {exc}", None
            )
        )
        return {}


def _first(record: dict, names: Iterable[str]) -> object:
    for name in names:
        if name in record and record[name] is not None:
            value = record[name]
            if isinstance(value, str) and not value.strip():
                continue
            return value
    return None


# ----------------------------------------------------------------------------------------- per format


def _page_document(
    rel: str, data: bytes, kind: str, meta: dict, record: str | None, external_id: str | None
) -> RawDocument:
    decoded = decode_bytes(data)  # raises DecodeError
    url = _clean_str(_first(meta, ("url",)))
    source, origin = resolve_source(_clean_str(_first(meta, _SOURCE_FIELDS)), rel, url)
    date_value = _first(meta, _DATE_FIELDS)
    date_raw = _clean_str(date_value)
    web = record is None or (url or "").lower().startswith(("http://", "https://"))
    published = parse_published(date_value if not isinstance(date_value, str) else date_raw, web=web)
    return RawDocument(
        doc_id=make_doc_id(source, data),
        source=source,
        source_origin=origin,
        kind=kind,
        raw_text=decoded.text,
        path=rel,
        record=record,
        external_id=external_id,
        url=url,
        title=_clean_str(_first(meta, ("title",))),
        published_at=published.at,
        published_at_raw=date_raw,
        published_at_precision=published.precision,
        published_at_flag=published.flag,
        encoding=decoded.encoding,
        repairs=decoded.repairs,
        content_sha256=sha256_hex(data),
        n_chars=len(decoded.text),
    )


def _record_document(rel: str, record: dict, locator: str, cfg: IngestConfig) -> RawDocument:
    html = _first(record, _HTML_FIELDS)
    text = _first(record, _TEXT_FIELDS)
    if html is not None:
        kind, body = "html", html
    elif text is not None:
        kind, body = "text", text
    else:
        raise _RecordError("missing_text", "record has no non-empty 'text' or 'html' field")
    if not isinstance(body, str):
        raise _RecordError("missing_text", f"'{kind}' field is {type(body).__name__}, not a string")
    data = body.encode("utf-8", errors="surrogatepass")
    if len(data) > cfg.max_page_bytes:
        raise _RecordError(
            "too_large", f"record is {len(data)} bytes, over the limit of {cfg.max_page_bytes}"
        )
    external_id = _clean_str(record.get("id"))
    try:
        return _page_document(rel, data, kind, record, locator, external_id)
    except DecodeError as exc:
        raise _RecordError(exc.reason, str(exc)) from exc


class _RecordError(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _ingest_jsonl(
    rel: str, data: bytes, sha: str, cfg: IngestConfig, out: IngestResult, raw: RawFile
) -> None:
    for lineno, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        raw.n_records += 1
        locator = f"line {lineno}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            out.errors.append(
                IngestError(
                    rel,
                    locator,
                    sha,
                    "malformed_json",
                    f"malformed JSON: {exc}",
                    _excerpt(line, cfg.excerpt_chars),
                )
            )
            continue
        if not isinstance(record, dict):
            out.errors.append(
                IngestError(
                    rel,
                    locator,
                    sha,
                    "not_an_object",
                    f"JSON {type(record).__name__}, not an object",
                    _excerpt(line, cfg.excerpt_chars),
                )
            )
            continue
        try:
            out.documents.append(_record_document(rel, record, locator, cfg))
        except _RecordError as exc:
            out.errors.append(
                IngestError(rel, locator, sha, exc.reason, str(exc), _excerpt(line, cfg.excerpt_chars))
            )


def _ingest_parquet(
    rel: str, data: bytes, sha: str, cfg: IngestConfig, out: IngestResult, raw: RawFile
) -> None:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        out.errors.append(
            IngestError(
                rel,
                None,
                sha,
                "unreadable",
                f"not a readable parquet file: {exc}",
                _excerpt(data, cfg.excerpt_chars),
            )
        )
        return
    for batch in table.to_batches(max_chunksize=4096):
        offset = raw.n_records
        for i, record in enumerate(batch.to_pylist()):
            raw.n_records += 1
            locator = f"row {offset + i}"
            try:
                out.documents.append(_record_document(rel, record, locator, cfg))
            except _RecordError as exc:
                excerpt = json.dumps({k: (str(v)[:80] if v is not None else None) for k, v in record.items()})
                out.errors.append(
                    IngestError(rel, locator, sha, exc.reason, str(exc), excerpt[: cfg.excerpt_chars])
                )


def ingest_file(
    root: Path, file: Path, cfg: IngestConfig | None = None, manifests: _Manifests | None = None
) -> IngestResult:
    """Ingest one file of the landing folder ``root``; never raises for bad content."""
    cfg = cfg or IngestConfig()
    root = Path(root)
    manifests = manifests or _Manifests(root)
    rel = file.relative_to(root).as_posix() if root in file.parents else file.name
    out = IngestResult()
    suffix = file.suffix.lower()
    try:
        size = file.stat().st_size
    except OSError as exc:
        out.errors.append(IngestError(rel, None, None, "unreadable", f"cannot stat file: {exc}", None))
        return out
    fmt = suffix.lstrip(".") or "none"
    limit = cfg.max_file_bytes if suffix in CORPUS_SUFFIXES else cfg.max_page_bytes
    if size > limit:
        h = hashlib.sha256()
        with open(file, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        sha = h.hexdigest()
        out.files.append(RawFile(rel, sha, size, fmt, 0, 0, 1))
        with open(file, "rb") as fh:
            head = fh.read(cfg.excerpt_chars)
        out.errors.append(
            IngestError(
                rel,
                None,
                sha,
                "too_large",
                f"file is {size} bytes, over the limit of {limit}",
                _excerpt(head, cfg.excerpt_chars),
            )
        )
        return out
    try:
        data = file.read_bytes()
    except OSError as exc:
        out.errors.append(IngestError(rel, None, None, "unreadable", f"cannot read file: {exc}", None))
        return out
    sha = sha256_hex(data)
    raw = RawFile(rel, sha, size, fmt)
    out.files.append(raw)
    if suffix in PAGE_SUFFIXES:
        raw.n_records = 1
        meta = dict(manifests.lookup(file))
        meta.update(_read_sidecar(file, rel, out.errors))
        try:
            out.documents.append(
                _page_document(rel, data, PAGE_SUFFIXES[suffix], meta, None, _clean_str(meta.get("id")))
            )
        except DecodeError as exc:
            out.errors.append(
                IngestError(rel, None, sha, exc.reason, str(exc), _excerpt(data, cfg.excerpt_chars))
            )
    elif suffix == ".jsonl":
        _ingest_jsonl(rel, data, sha, cfg, out, raw)
    elif suffix == ".parquet":
        _ingest_parquet(rel, data, sha, cfg, out, raw)
    else:
        out.errors.append(
            IngestError(
                rel,
                None,
                sha,
                "unsupported_format",
                f"unsupported file type {suffix or '(none)'}; expected one of "
                + ", ".join(sorted(SUPPORTED_SUFFIXES)),
                _excerpt(data, 80),
            )
        )
    raw.n_documents = len(out.documents)
    raw.n_errors = len(out.errors)
    if raw.n_records == 0 and not out.errors and suffix in CORPUS_SUFFIXES:
        out.errors.append(
            IngestError(rel, None, sha, "empty", "corpus file holds no records", _excerpt(data, 80))
        )
        raw.n_errors = 1
    return out


def iter_ingest(
    root: Path, files: Iterable[Path] | None = None, cfg: IngestConfig | None = None
) -> Iterator[IngestResult]:
    """Ingest ``files`` (default: everything under ``root``), one result per file, in path order."""
    root = Path(root)
    manifests = _Manifests(root)
    targets = sorted(Path(f) for f in files) if files is not None else scan_landing(root)
    for file in targets:
        yield ingest_file(root, file, cfg, manifests)
    if manifests.errors:
        yield IngestResult(errors=list(manifests.errors))


def ingest_files(
    root: Path, files: Iterable[Path] | None = None, cfg: IngestConfig | None = None
) -> IngestResult:
    out = IngestResult()
    for part in iter_ingest(root, files, cfg):
        out.extend(part)
    # the same document can arrive twice (same bytes, same source, two paths): keep the first
    seen: set[str] = set()
    unique = []
    for doc in out.documents:
        if doc.doc_id not in seen:
            seen.add(doc.doc_id)
            unique.append(doc)
    out.documents = unique
    return out
