"""Per-source template learning: lines a source repeats across many of its documents.

A site's furniture (its newsletter pitch, its "About us" blurb, its standard footer) recurs word for
word in most of its pages, while article paragraphs do not. ``learn_templates`` counts, per source,
in how many documents each *normalised line* occurs. A line is a template of source S when

* S has at least ``min_docs`` documents,
* the line occurs in at least ``min_docs`` documents of S and in at least ``min_share`` of them,
* and the line does not occur in documents of any other source. Wire copy republished by several
  outlets is shared *across* sources and is therefore never a template.

Exact duplicate documents of a source are counted once.

Line normalisation: NFKC, casefold, years 1900-2099 replaced by ``yyyy`` (so "© 2019" and "© 2020" match;
other numbers are kept, so formulaic sentences with different figures stay distinct),
whitespace collapsed, surrounding punctuation stripped. Lines with fewer than two letters are ignored.
Only a 64-bit hash of the normalised line is stored, plus a short example for inspection.

    t = learn_templates([(source, text), ...], min_docs=5, min_share=0.3)
    t.is_template("example.com", "Sign up for our daily newsletter")
    SourceTemplates.from_json(t.to_json()) == t
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.decode import fix_line_endings

__all__ = [
    "LINE_KEY_VERSION",
    "SourceProfile",
    "SourceTemplates",
    "document_lines",
    "learn_templates",
    "line_key",
    "lines_fingerprint",
    "normalise_line",
    "text_digest",
]

_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_WS = re.compile(r"\s+")
_EDGE_PUNCT = " \t.,;:!?|·•-–—*\"'“”‘’()[]"
_LETTER = re.compile(r"[^\W\d_]")
_MULTI = "\x00multi"  # marker: line seen in more than one source
FORMAT_VERSION = 1
#: version of ``normalise_line``/``line_key``/``document_lines``: line keys stored by another version are
#: computed again (``pipeline.core.stages`` keeps each document's line keys in the working database)
LINE_KEY_VERSION = 1


def normalise_line(line: str) -> str:
    s = unicodedata.normalize("NFKC", line).casefold()
    s = _YEAR.sub("yyyy", s)
    s = _WS.sub(" ", s).strip(_EDGE_PUNCT)
    return s


def line_key(line: str) -> str | None:
    """Hash of the normalised line (16 hex digits), None for lines without two letters."""
    norm = normalise_line(line)
    if len(_LETTER.findall(norm[:50])) < 2:
        return None
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


def text_digest(text: str) -> str:
    """Digest of a document's text (16 hex digits): documents of a source with the same digest count once."""
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()


def document_lines(text: str) -> list[tuple[str, str]]:
    """The distinct lines of a document that template learning counts, as ``(line_key, line)`` in order
    of first occurrence (``line`` stripped): lines with fewer than two letters and lines over 2,000
    characters are left out."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in fix_line_endings(text).split("\n"):
        line = raw.strip()
        if not line or len(line) > 2000:
            continue
        key = line_key(line)
        if key is None or key in seen:
            continue
        seen.add(key)
        out.append((key, line))
    return out


def lines_fingerprint(keys: Iterable[str]) -> str | None:
    """A short hash of a set of template line keys (None for none): ``SourceTemplates.fingerprint``."""
    ordered = sorted(keys)
    if not ordered:
        return None
    return hashlib.sha256("\n".join(ordered).encode()).hexdigest()[:16]


@dataclass
class SourceProfile:
    n_docs: int
    lines: dict[str, dict] = field(default_factory=dict)  # key -> {"docs": int, "example": str}


@dataclass
class SourceTemplates:
    min_docs: int
    min_share: float
    sources: dict[str, SourceProfile] = field(default_factory=dict)

    def is_template(self, source: str, line: str) -> bool:
        prof = self.sources.get(source)
        if prof is None or not prof.lines:
            return False
        key = line_key(line)
        return key is not None and key in prof.lines

    def fingerprint(self, source: str) -> str | None:
        """A short hash of the template lines learned for ``source`` (None when it has none). It is part of
        each document's clean key, so a source's documents are cleaned again when its templates change."""
        prof = self.sources.get(source)
        return None if prof is None else lines_fingerprint(prof.lines)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "min_docs": self.min_docs,
            "min_share": self.min_share,
            "sources": {
                s: {"n_docs": p.n_docs, "lines": {k: dict(v) for k, v in sorted(p.lines.items())}}
                for s, p in sorted(self.sources.items())
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> SourceTemplates:
        if not isinstance(d, dict) or d.get("format") != FORMAT_VERSION:
            raise ValueError("not a wiretrace source-templates document (missing or unknown 'format')")
        return cls(
            min_docs=int(d["min_docs"]),
            min_share=float(d["min_share"]),
            sources={
                s: SourceProfile(n_docs=int(p["n_docs"]), lines={k: dict(v) for k, v in p["lines"].items()})
                for s, p in d["sources"].items()
            },
        )

    @classmethod
    def from_json(cls, text: str) -> SourceTemplates:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> SourceTemplates:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def learn_templates(
    docs: Iterable[tuple[str, str]],
    min_docs: int = 5,
    min_share: float = 0.3,
) -> SourceTemplates:
    """Learn per-source boilerplate lines from ``(source, text)`` pairs (one pass, memory per distinct line)."""
    if min_docs < 2:
        raise ValueError("min_docs must be at least 2: a line seen in one document is not a template")
    if not 0 < min_share <= 1:
        raise ValueError("min_share must be in (0, 1]")
    n_docs: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {}
    owner: dict[str, str] = {}  # line key -> the only source it was seen in, or _MULTI
    examples: dict[str, str] = {}
    seen_docs: set[tuple[str, str]] = set()
    for source, text in docs:
        if source is None or not isinstance(text, str):
            continue
        doc_key = (source, text_digest(text))
        if doc_key in seen_docs:  # an exact duplicate would make its own paragraphs look recurrent
            continue
        seen_docs.add(doc_key)
        n_docs[source] += 1
        lines = document_lines(text)
        for key, line in lines:
            prev = owner.get(key)
            if prev is None:
                owner[key] = source
                examples[key] = line[:120]
            elif prev != source:
                owner[key] = _MULTI
        counter = counts.setdefault(source, Counter())
        counter.update(key for key, _ in lines)
    result = SourceTemplates(min_docs=min_docs, min_share=min_share)
    for source, total in n_docs.items():
        prof = SourceProfile(n_docs=total)
        if total >= min_docs:
            need = max(min_docs, min_share * total)
            for key, c in counts[source].items():
                if c >= need and owner.get(key) == source:
                    prof.lines[key] = {"docs": c, "example": examples[key]}
        result.sources[source] = prof
    return result
