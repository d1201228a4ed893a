"""Ingest: turn the files of a landing folder into documents, and every failure into an error row.

Formats
    ``.txt`` (plain text page; a ``.txt`` file that holds an HTML page is ingested as HTML),
    ``.html`` / ``.htm`` (HTML page), corpora with one article per record: ``.jsonl``, ``.jsonl.gz``,
    ``.jsonl.zst`` and ``.parquet`` (``text`` or ``html``, optional ``id``, ``source`` or ``outlet``,
    ``url``, ``title``, ``published_at`` (or ``date``)), and web archives ``.warc`` / ``.warc.gz``
    (each HTML response is a document with its URL; the capture time is kept as ``captured_at``,
    never as the publication time; other records are counted in ``n_skipped``).

``text`` or ``html`` in a record
    a record with a non-empty ``text`` (or ``body``, ``content``) is a text document: that is the
    publisher's own extraction of the article. ``html`` is used when no text field has content. A
    record with neither is a ``missing_text`` error row. So a document is never empty when either
    field has content.

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

Safety
    only regular files are opened (a named pipe, socket or device is an error row and never opened,
    so it cannot hang a run). A symbolic link is followed only when its target lies inside the landing
    folder (``IngestConfig.symlinks = "inside"``, the default; ``"never"`` refuses every link,
    ``"any"`` follows every link; environment variable ``WIRETRACE_SYMLINKS``). Corpus files of any
    size are streamed: one line, row or archive record at a time, each bounded by
    ``max_page_bytes``; a JSON record nested deeper than ``max_json_depth`` is an error row. Parsing
    a record therefore takes bounded memory and time.

Nothing lost
    every regular file gets a ``raw_files`` row (path, sha256, size); every file or record that cannot
    be ingested becomes an ``IngestError`` (path, record locator, reason code, message, raw excerpt) and
    the rest goes on. Reason codes: see ``REASONS``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import date as date_type
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from pipeline.config import settings
from pipeline.core.decode import DecodeError, decode_bytes, repair_text

__all__ = [
    "IngestConfig",
    "IngestResult",
    "RawDocument",
    "RawFile",
    "IngestError",
    "REASONS",
    "file_format",
    "ingest_file",
    "ingest_files",
    "iter_ingest",
    "page_metadata",
    "scan_landing",
    "parse_datetime",
    "parse_published",
    "PublishedDate",
]

PAGE_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html"}
#: corpus formats by file-name ending (the longest matching ending decides)
CORPUS_FORMATS = {
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl.gz",
    ".jsonl.zst": "jsonl.zst",
    ".parquet": "parquet",
    ".warc": "warc",
    ".warc.gz": "warc.gz",
}
SUPPORTED_SUFFIXES = set(PAGE_SUFFIXES) | set(CORPUS_FORMATS)
META_SUFFIX = ".meta.json"
MANIFEST_NAME = "manifest.csv"

#: reason codes of ingest error rows
REASONS: dict[str, str] = {
    "binary": "binary data, not text",
    "empty": "no bytes, only whitespace, or a corpus file without records",
    "undecodable": "bytes that decode as no supported text encoding",
    "too_large": "a page or record over the per-record size limit (or a file over max_file_bytes)",
    "malformed_json": "a JSON line that does not parse",
    "too_deep": "a JSON record nested deeper than the depth limit",
    "not_an_object": "a JSON line that is not an object",
    "missing_text": "a record without a non-empty text or html field",
    "unreadable": "a file or stream that cannot be read (corrupt archive, truncated compression)",
    "unsupported_format": "a file type that is not ingested",
    "bad_metadata": "a sidecar or manifest that cannot be read",
    "not_regular_file": "a named pipe, socket, device or linked folder: never opened",
    "symlink_refused": "a symbolic link not followed: target outside the landing folder, or links off",
}

_TEXT_FIELDS = ("text", "body", "content")
_HTML_FIELDS = ("html",)
_SOURCE_FIELDS = ("source", "outlet")
_DATE_FIELDS = ("published_at", "date_iso", "date", "published")
_SURROGATE = re.compile("[\ud800-\udfff]")
# an HTML page saved as text: a doctype or <html>/<head>/<body> near the start, or many block tags
_HTML_START = re.compile(r"\A\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAG = re.compile(
    r"</?(?:p|div|span|a|br|h[1-6]|article|section|script|style|table|li|ul|meta)\b[^>]{0,500}>", re.I
)


def _default_symlinks() -> str:
    return settings().symlinks


@dataclass(frozen=True)
class IngestConfig:
    max_page_bytes: int = 25 * 1024 * 1024  # one page, one record (line, row, archive record)
    max_file_bytes: int | None = None  # a whole file; None: corpus files of any size are streamed
    max_json_depth: int = 64  # nesting of a JSON record
    excerpt_chars: int = 300
    symlinks: str = field(default_factory=_default_symlinks)  # inside | never | any
    part_records: int = 1000  # records per yielded part of a streamed corpus file ...
    part_chars: int = 4_000_000  # ... or characters of document text, whichever comes first

    def __post_init__(self) -> None:
        if self.symlinks not in ("inside", "never", "any"):
            raise ValueError(f"symlinks must be inside, never or any, not {self.symlinks!r}")


@dataclass
class RawFile:
    path: str
    sha256: str
    size_bytes: int
    format: str
    n_records: int = 0
    n_documents: int = 0
    n_errors: int = 0
    n_skipped: int = 0


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
    captured_at: datetime | None = None  # web archives: when the page was captured (not published)


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
    #: paths whose bytes are already known (the caller said so): not parsed again
    unchanged: list[str] = field(default_factory=list)

    def extend(self, other: IngestResult) -> None:
        self.files.extend(other.files)
        self.documents.extend(other.documents)
        self.errors.extend(other.errors)
        self.unchanged.extend(other.unchanged)


PRECISIONS = ("day", "local_time", "time")
WEB_EPOCH = datetime(1990, 1, 1)  # no web page is older than the web
#: how far ahead of UTC a local day or time may be (a date is in the future only beyond this)
LOCAL_TIME_AHEAD = timedelta(hours=12)
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
    earliest = dt if precision == "time" else dt - LOCAL_TIME_AHEAD
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
    text = _SURROGATE.sub("\ufffd", str(value)).strip()
    return text or None


def _excerpt(data: bytes | str, n: int) -> str:
    if isinstance(data, bytes):
        return data[:n].decode("utf-8", errors="backslashreplace")
    return _SURROGATE.sub("\ufffd", data[:n])


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_doc_id(source: str, content: bytes) -> str:
    h = hashlib.sha256()
    h.update(source.encode("utf-8", errors="surrogatepass"))
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


def file_format(name: str) -> str | None:
    """The format of a data file from its name: ``txt``, ``html``, ``jsonl.gz``, ``warc.gz`` ...; None
    when unsupported."""
    lower = name.lower()
    for suffix in sorted(CORPUS_FORMATS, key=len, reverse=True):
        if lower.endswith(suffix):
            return CORPUS_FORMATS[suffix]
    suffix = os.path.splitext(lower)[1]
    if suffix in PAGE_SUFFIXES:
        return suffix[1:]
    return None


def is_metadata_file(name: str) -> bool:
    """Sidecars and manifests: metadata of data files, not data files themselves."""
    return name.endswith(META_SUFFIX) or name == MANIFEST_NAME


def scan_landing(root: Path) -> list[Path]:
    """Entries of ``root`` that should become documents (recursive, sorted): regular files, symbolic
    links and other non-folder entries (named pipes ...; ingest turns those into error rows without
    opening them). Sidecars, manifests and hidden entries are excluded; folders are never followed
    through symbolic links (a linked folder is listed, and becomes an error row)."""
    root = Path(root)
    found: list[Path] = []
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if os.path.islink(os.path.join(dirpath, d)):
                found.append(Path(dirpath) / d)  # not walked: reported as not_regular_file
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in filenames:
            if name.startswith(".") or is_metadata_file(name):
                continue
            found.append(Path(dirpath) / name)
    return sorted(found)


def looks_like_html(text: str) -> bool:
    """A page saved as ``.txt`` that is really HTML: a doctype or <html>/<head>/<body> at the start, or
    at least five block tags in the first 100,000 characters."""
    head = text[:100_000]
    if _HTML_START.match(head):
        return True
    return len(_HTML_TAG.findall(head, 0, 100_000)[:5]) >= 5


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
        if _regular(path):
            try:
                text, _ = repair_text(_read_small(path, 64 * 1024 * 1024).decode("utf-8-sig"))
                reader = csv.DictReader(io.StringIO(text))
                table = {}
                for row in reader:
                    key = (row.get("file") or row.get("path") or "").strip()
                    if key:
                        table[key] = {
                            k.strip(): v for k, v in row.items() if k and k.strip() not in ("file", "path")
                        }
            except (UnicodeDecodeError, csv.Error, OSError, ValueError) as exc:
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


def _regular(path: Path) -> bool:
    """A regular file, not through a symbolic link (metadata files are never followed)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _open_regular(path: Path | str) -> BinaryIO:
    """Open a regular file for reading without ever blocking: O_NONBLOCK makes opening a named pipe
    return at once, O_NOFOLLOW refuses a link swapped in, and the opened descriptor must be a regular
    file (else ``OSError``)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _read_small(path: Path, limit: int) -> bytes:
    with _open_regular(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"over {limit} bytes")
    return data


def _read_sidecar(file: Path, rel: str, errors: list[IngestError]) -> dict:
    sidecar = file.with_name(file.name + META_SUFFIX)
    if not _regular(sidecar):
        alt = file.with_suffix(META_SUFFIX)
        sidecar = alt if _regular(alt) else sidecar
    if not _regular(sidecar):
        return {}
    try:
        meta = json.loads(_read_small(sidecar, 1024 * 1024).decode("utf-8-sig"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
        return meta
    except (ValueError, UnicodeDecodeError, OSError, RecursionError) as exc:
        errors.append(
            IngestError(
                rel,
                "metadata",
                None,
                "bad_metadata",
                f"sidecar {sidecar.name} unreadable: {type(exc).__name__}: {exc}"[:500],
                None,
            )
        )
        return {}


def page_metadata(file: Path) -> tuple[dict, list[IngestError]]:
    """The metadata a page file gets when its own folder is the landing folder: its row of the
    ``manifest.csv`` there, updated by its sidecar; with the error rows a bad manifest or sidecar gives."""
    file = Path(file)
    manifests = _Manifests(file.parent)
    errors: list[IngestError] = []
    meta = dict(manifests.lookup(file))
    meta.update(_read_sidecar(file, file.name, errors))
    return meta, manifests.errors + errors


def _first(record: dict, names: Iterable[str]) -> object:
    for name in names:
        if name in record and record[name] is not None:
            value = record[name]
            if isinstance(value, str) and not value.strip():
                continue
            return value
    return None


class _RecordError(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


# ----------------------------------------------------------------------------------------- per format


def _page_document(
    rel: str,
    data: bytes,
    kind: str,
    meta: dict,
    record: str | None,
    external_id: str | None,
    declared_encoding: str | None = None,
    extra_repairs: list[str] | None = None,
) -> RawDocument:
    decoded = decode_bytes(data, declared_encoding)  # raises DecodeError
    repairs = list(extra_repairs or []) + list(decoded.repairs)
    if kind == "text" and looks_like_html(decoded.text):
        kind = "html"
        repairs.append("detected:html")
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
        repairs=repairs,
        content_sha256=sha256_hex(data),
        n_chars=len(decoded.text),
    )


def _record_document(rel: str, record: dict, locator: str, cfg: IngestConfig) -> RawDocument:
    text = _first(record, _TEXT_FIELDS)
    html = _first(record, _HTML_FIELDS)
    if isinstance(text, str) and text.strip():
        kind, body = "text", text
    elif isinstance(html, str) and html.strip():
        kind, body = "html", html
    elif text is None and html is None:
        raise _RecordError("missing_text", "record has no non-empty 'text' or 'html' field")
    else:
        bad = text if text is not None else html
        raise _RecordError("missing_text", f"text field is {type(bad).__name__}, not a string")
    repairs = []
    if _SURROGATE.search(body):  # a lone surrogate escape ("\ud800") in the JSON: replaced, recorded
        body = _SURROGATE.sub("\ufffd", body)
        repairs.append("lone_surrogate")
    data = body.encode("utf-8")
    if len(data) > cfg.max_page_bytes:
        raise _RecordError(
            "too_large", f"record is {len(data)} bytes, over the limit of {cfg.max_page_bytes}"
        )
    external_id = _clean_str(record.get("id"))
    try:
        return _page_document(rel, data, kind, record, locator, external_id, extra_repairs=repairs)
    except DecodeError as exc:
        raise _RecordError(exc.reason, str(exc)) from exc


def _json_depth(value: object, limit: int) -> int:
    """Nesting depth of a parsed JSON value (containers inside containers; an object alone is 1), counted
    level by level without recursion; stops once past ``limit``."""
    depth = 0
    level = [value]
    while level and depth <= limit:
        containers = [v for v in level if isinstance(v, (dict, list))]
        if not containers:
            break
        depth += 1
        level = [c for v in containers for c in (v.values() if isinstance(v, dict) else v)]
    return depth


def parse_json_record(line: bytes, cfg: IngestConfig) -> dict:
    """One JSON line to an object, with bounded depth; raises ``_RecordError``."""
    try:
        record = json.loads(line)
    except RecursionError:
        raise _RecordError("too_deep", f"JSON nested deeper than {cfg.max_json_depth} levels") from None
    except ValueError as exc:
        raise _RecordError("malformed_json", f"malformed JSON: {exc}") from None
    if not isinstance(record, dict):
        raise _RecordError("not_an_object", f"JSON {type(record).__name__}, not an object")
    # only a line with more brackets than the limit can be too deep: most lines skip the walk
    if line.count(b"{") + line.count(b"[") > cfg.max_json_depth:
        if _json_depth(record, cfg.max_json_depth) > cfg.max_json_depth:
            raise _RecordError("too_deep", f"JSON nested deeper than {cfg.max_json_depth} levels")
    return record


def _lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, line or None when over ``limit`` bytes, length) of a byte stream, one at a time."""
    lineno = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        lineno += 1
        if len(line) > limit and not line.endswith(b"\n"):
            size = len(line)
            del line
            while True:  # skip the rest of the line, a bounded chunk at a time
                chunk = stream.readline(1 << 20)
                size += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield lineno, None, size
            continue
        yield lineno, line.rstrip(b"\r\n"), len(line)


def _decompressed(fh: BinaryIO, fmt: str) -> BinaryIO:
    if fmt.endswith(".gz"):
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    if fmt.endswith(".zst"):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)  # type: ignore[arg-type]
    return fh


def _unforeseen(exc: Exception) -> str:
    return f"record could not be read: {type(exc).__name__}: {exc}"[:500]


class _Parts:
    """Collects documents and errors of one file and hands them out in bounded parts."""

    def __init__(self, raw: RawFile, sha: str, cfg: IngestConfig):
        self.raw, self.sha, self.cfg = raw, sha, cfg
        self.current = IngestResult()
        self.chars = 0

    def doc(self, doc: RawDocument) -> None:
        self.current.documents.append(doc)
        self.raw.n_documents += 1
        self.chars += doc.n_chars

    def error(self, record: str | None, reason: str, message: str, excerpt: str | None) -> None:
        self.current.errors.append(IngestError(self.raw.path, record, self.sha, reason, message, excerpt))
        self.raw.n_errors += 1

    def full(self) -> bool:
        return (
            len(self.current.documents) + len(self.current.errors) >= self.cfg.part_records
            or self.chars >= self.cfg.part_chars
        )

    def take(self) -> IngestResult:
        out, self.current = self.current, IngestResult()
        self.chars = 0
        return out


def _iter_jsonl(fh: BinaryIO, fmt: str, parts: _Parts) -> Iterator[IngestResult]:
    cfg, raw = parts.cfg, parts.raw
    lineno = 0
    try:
        stream = _decompressed(fh, fmt)
        for lineno, line, size in _lines(stream, cfg.max_page_bytes + 4096):
            if line is not None and not line.strip():
                continue
            raw.n_records += 1
            locator = f"line {lineno}"
            if line is None:
                parts.error(
                    locator,
                    "too_large",
                    f"line is {size} bytes, over the limit of {cfg.max_page_bytes}",
                    None,
                )
            else:
                try:
                    record = parse_json_record(line, cfg)
                    parts.doc(_record_document(raw.path, record, locator, cfg))
                except _RecordError as exc:
                    parts.error(locator, exc.reason, str(exc), _excerpt(line, cfg.excerpt_chars))
                except Exception as exc:  # noqa: BLE001 - an unforeseen value: one record, not the file
                    parts.error(locator, "unreadable", _unforeseen(exc), _excerpt(line, cfg.excerpt_chars))
            if parts.full():
                yield parts.take()
    except Exception as exc:  # corrupt or truncated compression: the lines read so far stay
        parts.error(
            f"line {lineno + 1}",
            "unreadable",
            f"cannot read {fmt} stream after line {lineno}: {type(exc).__name__}: {exc}"[:500],
            None,
        )


def _iter_parquet(fh: BinaryIO, parts: _Parts) -> Iterator[IngestResult]:
    import pyarrow.parquet as pq

    cfg, raw = parts.cfg, parts.raw
    try:
        pf = pq.ParquetFile(fh)
        batches = pf.iter_batches(batch_size=256)
        for batch in batches:
            for record in batch.to_pylist():
                locator = f"row {raw.n_records}"
                raw.n_records += 1
                try:
                    parts.doc(_record_document(raw.path, record, locator, cfg))
                except _RecordError as exc:
                    excerpt = json.dumps(
                        {k: (str(v)[:80] if v is not None else None) for k, v in record.items()}
                    )
                    parts.error(locator, exc.reason, str(exc), _excerpt(excerpt, cfg.excerpt_chars))
                except Exception as exc:  # noqa: BLE001 - an unforeseen value: one record, not the file
                    parts.error(locator, "unreadable", _unforeseen(exc), None)
                if parts.full():
                    yield parts.take()
    except Exception as exc:  # pyarrow raises several types for corrupt files
        parts.error(None, "unreadable", f"not a readable parquet file: {exc}"[:500], None)


_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def _iter_warc(fh: BinaryIO, parts: _Parts) -> Iterator[IngestResult]:
    from warcio.archiveiterator import ArchiveIterator

    cfg, raw = parts.cfg, parts.raw
    n = 0
    try:
        for rec in ArchiveIterator(fh, check_digests=False):
            n += 1
            raw.n_records += 1
            locator = f"record {n}"
            http = rec.http_headers
            ctype = (http.get_header("Content-Type") or "") if http is not None else ""
            status = http.get_statuscode() if http is not None else None
            if (
                rec.rec_type != "response"
                or status != "200"
                or ctype.lower().split(";")[0].strip() not in ("text/html", "application/xhtml+xml")
            ):
                raw.n_skipped += 1  # requests, metadata, redirects, images ...: counted, not documents
                continue
            payload = rec.content_stream().read(cfg.max_page_bytes + 1)
            if len(payload) > cfg.max_page_bytes:
                parts.error(
                    locator, "too_large", f"response is over the limit of {cfg.max_page_bytes} bytes", None
                )
                continue
            headers = rec.rec_headers
            url = _clean_str(headers.get_header("WARC-Target-URI"))
            charset = _CHARSET.search(ctype)
            try:
                doc = _page_document(
                    raw.path,
                    payload,
                    "html",
                    {"url": url},
                    locator,
                    _clean_str(headers.get_header("WARC-Record-ID")),
                    declared_encoding=charset.group(1) if charset else None,
                )
            except DecodeError as exc:
                parts.error(locator, exc.reason, f"{url}: {exc}", _excerpt(payload, cfg.excerpt_chars))
                continue
            except Exception as exc:  # noqa: BLE001 - an unforeseen value: one record, not the file
                parts.error(locator, "unreadable", _unforeseen(exc), _excerpt(payload, cfg.excerpt_chars))
                continue
            doc.captured_at = _warc_date(headers.get_header("WARC-Date"))
            parts.doc(doc)
            if parts.full():
                yield parts.take()
    except Exception as exc:  # not a WARC file, or a truncated record
        parts.error(
            f"record {n + 1}" if n else None,
            "unreadable",
            f"not a readable web archive after {n} records: {type(exc).__name__}: {exc}"[:500],
            None,
        )


def _warc_date(value: str | None) -> datetime | None:
    """WARC-Date (ISO 8601, UTC) as naive UTC; None when absent or not ISO."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def _target(root_real: Path, file: Path, cfg: IngestConfig) -> tuple[Path | None, str | None, str]:
    """The path to open for ``file``, or (None, reason, message) when it must not be opened."""
    try:
        st = os.lstat(file)
    except OSError as exc:
        return None, "unreadable", f"cannot stat file: {exc}"
    target = file
    if stat.S_ISLNK(st.st_mode):
        if cfg.symlinks == "never":
            return None, "symlink_refused", "symbolic link not followed (symlinks = never)"
        target = Path(os.path.realpath(file))
        inside = target == root_real or root_real in target.parents
        if cfg.symlinks == "inside" and not inside:
            return None, "symlink_refused", "symbolic link to a target outside the landing folder"
        try:
            st = os.stat(target)
        except OSError as exc:
            return None, "unreadable", f"broken symbolic link: {exc}"
    if stat.S_ISREG(st.st_mode):
        return target, None, ""
    what = (
        "named pipe (FIFO)"
        if stat.S_ISFIFO(st.st_mode)
        else "socket"
        if stat.S_ISSOCK(st.st_mode)
        else "device"
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
        else "folder (reached through a symbolic link)"
        if stat.S_ISDIR(st.st_mode)
        else "special file"
    )
    return None, "not_regular_file", f"{what}: not a regular file, never opened"


def _hash_open_file(fh: BinaryIO) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
        size += len(chunk)
    fh.seek(0)
    return h.hexdigest(), size


def ingest_file(
    root: Path,
    file: Path,
    cfg: IngestConfig | None = None,
    manifests: _Manifests | None = None,
    known: Callable[[str, str], bool] | None = None,
) -> Iterator[IngestResult]:
    """Ingest one entry of the landing folder ``root``, in parts (bounded memory); never raises for bad
    content. The file's ``RawFile`` comes with the last part. ``known(path, sha256)`` true means these
    bytes were ingested before: a corpus file is then not parsed again (its path is in ``unchanged``)."""
    cfg = cfg or IngestConfig()
    root = Path(root)
    manifests = manifests or _Manifests(root)
    file = Path(file)
    rel = file.relative_to(root).as_posix() if root in file.parents else file.name
    fmt = file_format(file.name)
    target, reason, message = _target(root.resolve(), file, cfg)
    if target is None:
        yield IngestResult(errors=[IngestError(rel, None, None, reason or "unreadable", message, None)])
        return
    try:
        fh = _open_regular(target)
    except OSError as exc:
        yield IngestResult(
            errors=[IngestError(rel, None, None, "unreadable", f"cannot open file: {exc}", None)]
        )
        return
    with fh:
        try:
            sha, size = _hash_open_file(fh)
        except OSError as exc:
            yield IngestResult(
                errors=[IngestError(rel, None, None, "unreadable", f"cannot read file: {exc}", None)]
            )
            return
        raw = RawFile(rel, sha, size, fmt or (os.path.splitext(file.name)[1].lstrip(".").lower() or "none"))
        parts = _Parts(raw, sha, cfg)
        corpus = fmt in CORPUS_FORMATS.values()
        limit = cfg.max_file_bytes if corpus else cfg.max_page_bytes
        if fmt is None:
            parts.error(
                None,
                "unsupported_format",
                f"unsupported file type {os.path.splitext(file.name)[1] or '(none)'}; expected one of "
                + ", ".join(sorted(SUPPORTED_SUFFIXES)),
                _excerpt(fh.read(80), 80),
            )
        elif limit is not None and size > limit:
            parts.error(
                None,
                "too_large",
                f"file is {size} bytes, over the limit of {limit}",
                _excerpt(fh.read(cfg.excerpt_chars), cfg.excerpt_chars),
            )
        elif corpus and known is not None and known(rel, sha):
            part = parts.take()
            part.files.append(raw)
            part.unchanged.append(rel)
            yield part
            return
        elif not corpus:
            raw.n_records = 1
            data = fh.read(cfg.max_page_bytes + 1)
            meta = dict(manifests.lookup(file))
            before = len(parts.current.errors)
            meta.update(_read_sidecar(file, rel, parts.current.errors))
            raw.n_errors += len(parts.current.errors) - before
            try:
                parts.doc(
                    _page_document(
                        rel, data, PAGE_SUFFIXES["." + fmt], meta, None, _clean_str(meta.get("id"))
                    )
                )
            except DecodeError as exc:
                parts.error(None, exc.reason, str(exc), _excerpt(data, cfg.excerpt_chars))
            except Exception as exc:  # noqa: BLE001 - unforeseen metadata values: an error row, not a crash
                parts.error(None, "unreadable", _unforeseen(exc), _excerpt(data, cfg.excerpt_chars))
        elif fmt.startswith("jsonl"):
            yield from _iter_jsonl(fh, fmt, parts)
        elif fmt == "parquet":
            yield from _iter_parquet(fh, parts)
        else:
            yield from _iter_warc(fh, parts)
        if corpus and raw.n_records == 0 and raw.n_errors == 0:
            parts.error(None, "empty", "corpus file holds no records", None)
    last = parts.take()
    last.files.append(raw)
    yield last


def iter_ingest(
    root: Path,
    files: Iterable[Path] | None = None,
    cfg: IngestConfig | None = None,
    known: Callable[[str, str], bool] | None = None,
) -> Iterator[IngestResult]:
    """Ingest ``files`` (default: everything under ``root``) in path order, in bounded parts; a file's
    ``RawFile`` comes with its last part."""
    root = Path(root)
    manifests = _Manifests(root)
    targets = sorted(Path(f) for f in files) if files is not None else scan_landing(root)
    for file in targets:
        yield from ingest_file(root, file, cfg, manifests, known)
    if manifests.errors:
        yield IngestResult(errors=list(manifests.errors))


def ingest_files(
    root: Path, files: Iterable[Path] | None = None, cfg: IngestConfig | None = None
) -> IngestResult:
    """Everything at once (tests, small folders); the pipeline streams with :func:`iter_ingest`."""
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
