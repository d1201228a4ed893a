"""Corpus-level overlap: which sentences, passages and documents are shared between outlets.

``compute_overlap(documents, sentences, config=None, encoder="auto", progress=None)`` takes the
segmented corpus as two polars frames and returns an :class:`OverlapResult` holding seven polars
frames (row order and content are deterministic for the same input: every frame is sorted by its
keys) and a ``stats`` dict (row counts, candidate-pair counts, seconds per step, whether the semantic
tier ran and, if not, why).

Input
-----
``documents``: ``doc_id`` (str), ``source`` (str, the outlet), ``published_at`` (Datetime or null),
optional ``published_at_precision`` (``day``, ``local_time`` or ``time``; without it a value at
midnight is a date only), ``title`` (str or null), ``n_chars`` (int), optional ``url`` (str or null: the
document's URL from its metadata; two documents of one page under two outlet labels get no direction).
``sentences``: ``sentence_id`` (str, ``f"{doc_id}:{index}"``), ``doc_id``, ``index`` (int, 0-based),
``paragraph`` (int), ``start``, ``end`` (char offsets in the document's clean text), ``text``,
``norm`` (normalised text), ``norm_hash`` (str), ``n_tokens`` (int).
Sentences whose ``doc_id`` is not in ``documents`` are ignored (counted in ``stats``); a repeated
``doc_id`` or ``sentence_id`` keeps its first row; ``published_at`` may also be a time-zone aware
datetime (converted to UTC) or an ISO string; a missing column raises ``ValueError`` naming it.

Output tables
-------------
``sentence_flags`` (one row per sentence, sorted by sentence_id)
    sentence_id str; doc_id str;
    quote_share f64: share of the sentence's letters and digits that sit inside quotation marks
    (straight ``"``, curly ``“ ”``, low ``„`` and guillemets ``« »``; a quote opened and not closed
    runs to the end of the sentence, a quote closed and not opened started before the sentence, i.e.
    a multi-sentence quotation; single quotes are ignored because they double as apostrophes);
    is_quote bool: ``quote_share >= config.quote_min_share`` ("X said: “...”" forms count, since the
    attribution is short);
    too_short bool: fewer than ``config.min_tokens`` tokens; kept, never matched;
    n_docs_same_hash i64: documents containing the same normalised sentence (itself included);
    n_sources_same_hash i64: outlets among those documents;
    is_common bool: boilerplate or stock phrase, never matched. A normalised sentence is common when
    it occurs in at least ``max(common_min_docs_per_source, ceil(common_min_share_of_source * D))``
    documents of one outlet that has D documents (e.g. "Sign up for our newsletter" under every
    article of that outlet), or in at least ``common_min_docs_any_share`` documents of one outlet
    whatever its size (a section's sign-off such as "Join us on Facebook.com/CNNOpinion." under a
    large outlet's opinion pieces only), or in documents of at least ``common_min_sources``
    outlets; the same
    rule is applied to families of near-identical sentences (connected by graded MinHash matches),
    so templates with a varying part ("Read or Share this story: <link>", "<name> contributed to
    this report") are common too;
    stock_reason str: a structural cue (``post_signature``, ``post_link``, ``video_widget``,
    ``promo``, ``credit``, ``disclaimer``, ``bio`` in a document's first two or last three sentences)
    or ``stock_sentence`` (in the shipped model of stock text), see ``pipeline.core.stock``; such
    sentences are common whatever the corpus size;
    matchable bool: neither too short nor common.

``sentence_matches`` (one row per matched sentence pair in different documents, sorted by
sentence_id_a, sentence_id_b)
    sentence_id_a, sentence_id_b str; doc_id_a, doc_id_b str with ``doc_id_a < doc_id_b`` (the pair
    appears once; for document ids of equal length, or none prefix of another, this is the same
    as ``sentence_id_a < sentence_id_b``); index_a, index_b i64; source_a, source_b str;
    kind str (exact / near / paraphrase, as graded by ``pipeline.core.compare.grade_pairs``);
    score f64; tier str (candidate generator that proposed the pair: exact / minhash / blocked /
    semantic); one f64 column per signal returned by the grader (``jaccard``, ``containment``,
    ``char_ratio``, ..., ``num_conflict``, ``name_conflict``, ``cosine`` (MiniLM's) null where the
    semantic tier did not send the pair to MiniLM (it grades only the focus pairs, see
    ``candidates_semantic``, and embeds only the pairs its cheap signals leave uncertain, see
    ``grading.needs_models``: not near copies, which the rules decide) or without the semantic tier,
    ``probability``, ``conflict``; exact pairs, which are not re-graded, carry 1.0 for the
    similarity signals and 0.0 for the conflict signals); is_quote bool (either side is mostly
    quotation); same_source bool; novel_ngrams i64, stock_cover f64 and relation str (reuse / quote /
    stock / same_fact), see ``pipeline.core.evidence``.
    Many-to-many rule: between two documents a sentence keeps only its best partner (highest kind,
    then score, then smallest sentence_id); a pair is kept when it is the best for either of its two
    sentences, so each sentence has at most one partner per other document from its own side.
    Identical sentences shared by more than ``exact_clique_max`` sentences, and pairs of graded
    sentence groups whose product exceeds ``expand_max_pairs``, are linked to a representative (the
    earliest published sentence, then the smallest sentence_id) instead of pairwise, so the table
    stays linear in the corpus size; document-level counts of such very widely shared sentences are
    therefore complete only for pairs involving the representative's document.

``sentence_clusters`` (one row per matched sentence, sorted by cluster_id, sentence_id)
    cluster_id str (``"c"`` + 16 hex digits of the SHA-1 of the smallest sentence_id in the
    connected component of the match graph); sentence_id, doc_id, source str; published_at datetime;
    is_origin bool; origin_sentence_id str; origin_status str: ``inferred`` when one member document
    is the source every other member derives from along the document pairs' determined directions
    (see ``pipeline.core.provenance``), else ``quotation`` when every match of the cluster is a
    quotation, else ``undetermined``: no origin is guessed; origin_basis str
    and origin_confidence f64 (the directions' bases and their lowest confidence);
    kind_to_origin str: ``origin`` for the origin itself, the kind of the direct match to the origin
    when there is one, ``indirect`` when connected only through other sentences, null when the
    origin is undetermined.

``passages`` (sorted by doc_id_a, doc_id_b, first_index_a)
    runs of matched sentences aligned between two documents, both sides moving forward, allowing
    gaps of up to ``passage_max_gap`` unmatched sentences on each side; at least
    ``passage_min_sentences`` matched pairs. doc_id_a, doc_id_b str; passage_id str;
    first_index_a, last_index_a, first_index_b, last_index_b i64; start_a, end_a, start_b, end_b
    i64 (char offsets in each document's clean text); n_sentences i64 (matched pairs);
    n_exact, n_near, n_paraphrase i64; dominant_kind str (most frequent, ties to the stronger kind);
    mean_score f64; n_quote i64; direction, direction_basis str and direction_confidence f64 (those
    of the passage's document pair).

``document_pairs`` (one row per document pair sharing at least one match, sorted by doc ids)
    doc_id_a, doc_id_b, source_a, source_b str; published_at_a, published_at_b datetime;
    n_matchable_a, n_matchable_b i64; n_shared_a, n_shared_b i64 (distinct sentences of each side
    matched in the other); n_exact, n_near, n_paraphrase i64 (matched pairs by kind; quotes
    included); n_quote i64 (pairs where a side is mostly quotation); n_nonquote i64;
    quote_only bool (every shared pair is a quotation: two outlets quoting the same speaker);
    containment_a_in_b f64 (share of A's matchable sentences matched in B) and containment_b_in_a;
    direction str (``a->b`` = A is the source of B, ``b->a``, ``undetermined``), direction_basis
    str, direction_evidence str, direction_confidence f64 (null when undetermined),
    common_source_doc_id str (siblings: the source of both): the provenance model of
    ``pipeline.core.provenance`` (publication-date intervals by precision, credit lines, the union
    a source holds, siblings of one source; its module docstring gives the rules and their order).
    Only reuse counts (``provenance.reuse_only``). same_source bool; in_story bool (the pair links its
    documents into one story, see below).
    relation str (``reuse`` when the pair shares aligned text, else ``quote``), n_aligned i64 and
    aligned_weight f64 (the aligned chain, see ``pipeline.core.evidence``). Counts and containment
    use the pair's reuse and quote matches only.

``document_originality`` (one row per document, sorted by doc_id)
    doc_id, source str; n_sentences, n_matchable i64; share_original, share_exact, share_near,
    share_paraphrase f64 over matchable sentences (null when there are none). Each matchable
    sentence counts once, by its best kind among matches to documents that are its document's
    source (a determined direction pointing at it); any other sentence is original, so an origin is
    not made less original by being copied. n_quote_reuse i64: mostly-quotation sentences reused
    that way (also counted in their kind). inferred_source_doc_id str: the document this one derives
    from: among the pairs whose direction points at it and that link it into a story (``in_story``:
    a single shared stock line does not make a source), the strongest (sum over non-quote matches of
    3 per exact, 2 per near, 1 per paraphrase; then most shared non-quote sentences, highest
    containment, smallest id); null when there is none, or when an undetermined pair (other than
    siblings of one source or quote reuse) shares more strongly with it;
    added i64: matchable sentences not found in the
    inferred source; dropped i64: matchable sentences of the inferred source not carried over (both
    null without an inferred source).

``stories`` (one row per document, sorted by story_id, doc_id)
    story_id str (``"s"`` + 16 hex of SHA-1 of the smallest doc_id of the story); doc_id str;
    n_docs i64; first_published_at datetime (earliest known date in the story, null when none).
    A story is a connected component of document pairs that share at least ``story_min_shared``
    non-quote sentences with a non-quote containment of at least ``story_min_containment`` on
    either side, or at least ``story_strong_shared`` non-quote sentences whatever the containment
    (a few shared stock lines in two long texts do not make one story); a document sharing nothing
    forms a story of one.

Stats
-----
``n_documents``, ``n_sentences``, ``n_sentences_unknown_doc``, ``n_matchable``,
``n_distinct_matchable``, ``n_quote``, ``n_too_short``, ``n_common``, ``n_template_sentences``
(common through a template family); candidate counts
``candidates_exact_sentence_pairs``, ``candidates_lsh`` (band collisions), ``candidates_minhash``
(after the estimated-Jaccard filter), ``candidate_doc_pairs``, ``candidates_paraphrase``,
``graded_pairs`` (candidates sent to the grader), ``graded_matches`` (graded exact/near/paraphrase);
``grader``; ``semantic`` = {``ran``, ``reason``, ``candidates`` (the static encoder's nearest
neighbours), ``embeddings``, ``window_sentences`` (sentences near the focus pairs' matches that seek a
partner), ``static_held`` (distinct texts with a static encoder vector), ``static_encoded`` (those
the static encoder encoded: the others were stored by earlier runs)}; ``verifier`` = {``ran``,
``reason``, ``pairs``}; with the semantic tier ``semantic_focus_pairs``, ``semantic_triage`` =
{``candidates`` (graded pairs), ``decided_by_rules`` (exact or near), ``aligned`` (in line with a
lexical match), ``certain`` (decided by the cheap signals: off the diagonal or certainly unrelated),
``to_models`` (sent to MiniLM and the verifier), ``minilm_sentences``},
``semantic_replaced_lexical`` (lexical paraphrase grades replaced by semantic ones) and
``semantic_verifier_rejected_kept``; with a store, ``store`` = {``reused``, ``computed``} (signatures
and grades) and ``index`` = {``reused``, ``computed``} (sentence traits, texts' words, band collisions,
rare-word document pairs); ``rows`` per table; ``matches_by_kind`` (reuse and quote
matches); ``matches_by_relation``; ``timings`` (seconds per step); ``cpu_timings`` (the process's CPU seconds per step, every thread, see ``common.Clock``); ``step_memory`` (per step: resident size at its end, its peak and the process peak so far, MiB, see ``common.Clock``); ``seconds_total``; ``config``.

Steps
-----
Candidates are never all pairs: each tier proposes pairs of distinct normalised sentences, every
candidate (except identical sentences) is graded by ``grade_pairs`` and ``none`` is dropped. Each step
is a function of frames (and the config, and explicit objects such as the encoder or the progress
clock) to frames, in its own module; ``run.compute_overlap`` lists them in order, and each module's
docstring gives its rules:

* ``inputs``: checking and preparing the two input frames;
* ``flags``: quotation share, too short, common (per outlet, across outlets, stock text) and
  template families;
* ``index``: the matchable sentences and their distinct normalised texts, numbered for the tiers;
* ``candidates_exact``: identical normalised sentences;
* ``candidates_minhash``: MinHash signatures and LSH banding (near copies);
* ``candidates_paraphrase``: candidate document pairs and rare-word blocking (lexical paraphrases);
* ``grading``: the grader and the cross-encoder verifier;
* ``matches``: graded pairs to sentence pairs, the many-to-many rule, the evidence columns;
* ``candidates_semantic`` and ``semantic``: the semantic tier on the focus pairs (``models`` loads its
  encoder and verifier);
* ``clusters``, ``passages``, ``pairs`` (document pairs), ``originality``, ``stories``: the tables,
  with the provenance model of ``pipeline.core.provenance``;
* ``derived``: which connected components of the document graph a batch touched (the tables of the
  others are kept);
* ``store``: index upkeep, the values kept between runs (below);
* ``config`` (settings, result), ``schemas`` (every frame's columns), ``common`` (shared helpers).

Incremental runs
----------------
``compute_overlap(..., store=OverlapStore)`` reuses values computed by earlier runs and collects the
ones it computes; the stage (``pipeline.core.stages.stage_overlap``) reads the store from the working
database (signatures and LSH postings by look-ups for the keys a run needs) and writes the new rows
back, so the steps stay functions of frames (and the explicit store) to frames. Stored, each under a
fingerprint of everything it depends on: the MinHash signature of each distinct normalised sentence
(``cache.minhash_signatures``), the grader's result for each pair of graded texts
(``cache.graded_pairs``), each sentence's own traits, quotation share and stock-text reason
(``cache.sentence_traits``), the content words of each distinct normalised sentence
(``cache.word_tokens``), the LSH banding (``cache.lsh_postings``, and the last run's banded sentences
and band collisions ``cache.lsh_members``, ``cache.lsh_pairs``: a batch bands only the sentences that
joined the matchable set, against the stored postings, and re-derives only the buckets a sentence
joined or left) and the rare-word blocking (each document's rare-word set and the qualifying document
pairs, ``cache.rare_doc_sets``, ``cache.rare_doc_pairs``: a batch recomputes the pairs of documents whose
rare words changed) and the words' document frequencies (the content words of each document under a
digest of its matchable sentences, ``cache.doc_words``, ``cache.doc_word_digests``: a batch counts the
words of the documents whose digest changed and adds the counts over the kept ones, which the working
database aggregates). The tables are byte-identical with or without the store, after any sequence of
batches (a sentence turning common, a word stopping being rare or a bucket crossing
``lsh_max_bucket`` re-derives what depends on it). Still computed over the whole corpus by every run
with something new, by cheap frame operations: the counts behind ``is_common`` (documents and outlets
per normalised sentence), the index, each sentence's rare words and their weights, the top partners of each
document; stored too: the static encoder's vector of each text the semantic tier embedded
(``cache.static_vectors``); not stored: MiniLM's embeddings. The tables built from the matches
(clusters, passages, document pairs with their provenance, originality, stories) are recomputed only
for the connected components of the document graph that hold a document or a document pair whose
inputs changed; the other components' rows are read from the stored marts (``derived``'s module
docstring gives the rule and the one corpus-wide input, the outlet names credit lines may name). A run whose
inputs, settings, code and models are unchanged (``store.inputs_fingerprint``, kept in
``meta.stage_state``) skips the stage; ``store``'s module docstring gives the details.

Document-level evidence (``pipeline.core.evidence``): every match gets a ``relation`` (reuse, quote,
stock, same_fact); only ``reuse`` and ``quote`` matches feed clusters, passages, document pairs,
originality and stories, and document pairs are kept only when they share aligned text
(``relation = 'reuse'``) or quotations (``relation = 'quote'``).
"""

from pipeline.core.overlap.config import KIND_RANK, TABLES, OverlapConfig, OverlapResult
from pipeline.core.overlap.flags import quote_share, quote_shares
from pipeline.core.overlap.run import compute_overlap
from pipeline.core.overlap.schemas import DOCUMENTS_SCHEMA, SENTENCES_SCHEMA

__all__ = [
    "OverlapConfig",
    "OverlapResult",
    "compute_overlap",
    "quote_share",
    "quote_shares",
    "TABLES",
    "KIND_RANK",
    "DOCUMENTS_SCHEMA",
    "SENTENCES_SCHEMA",
]
