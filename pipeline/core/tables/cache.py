"""Tables the overlap stage keeps between runs so that it computes nothing twice (schema ``cache``,
working database only, never published), and the fingerprints that let a run with nothing new skip the
overlap and publish steps (``meta.stage_state``). See ``pipeline.core.overlap.store``."""

from __future__ import annotations

from pipeline.core.tables.model import BOOL, BYTES, F64, I32, I64, STR, STRS, Table
from pipeline.core.tables.model import Column as C

TABLES: tuple[Table, ...] = (
    Table(
        "cache.minhash_signatures",
        "MinHash signatures of the distinct normalised sentences, reused by the next overlap run (working database only).",
        key=("signature_key", "norm_hash"),
        since=3,
        published=False,
        columns=(
            C(
                "signature_key",
                STR,
                "Fingerprint of the signature's inputs other than the text (code, library versions, num_perm, seed, shingle limit); rows of another key are ignored.",
                not_null=True,
            ),
            C("norm_hash", STR, "The normalised sentence (staging.sentences.norm_hash).", not_null=True),
            C("signature", BYTES, "num_perm little-endian uint32 MinHash values."),
        ),
    ),
    Table(
        "cache.graded_pairs",
        "Grader results of candidate sentence pairs (before the cross-encoder verifier), reused by the next overlap run (working database only).",
        key=("grade_key", "pair_key"),
        since=3,
        published=False,
        columns=(
            C(
                "grade_key",
                STR,
                "Fingerprint of the grade's inputs other than the texts (grader code and model, max_grade_chars, the encoder or 'lexical'); rows of another key are ignored.",
                not_null=True,
            ),
            C("pair_key", STR, "Digest of the two texts exactly as graded (a then b).", not_null=True),
            C("norm_hash_a", STR, "Normalised sentence of side a when it was graded."),
            C("norm_hash_b", STR, "Normalised sentence of side b when it was graded."),
            C("kind", STR, "exact / near / paraphrase / none."),
            C("score", F64, "The grader's score."),
            C("signals", STR, "JSON object: the grader's signals."),
        ),
    ),
    Table(
        "meta.stage_state",
        "Fingerprint of the inputs of the last successful overlap run and of the last publish: a run whose fingerprint is unchanged skips the step.",
        key=("stage",),
        since=3,
        columns=(
            C("stage", STR, "overlap or publish (key)."),
            C("fingerprint", STR, "Digest of the step's inputs (data, settings, code and models)."),
        ),
    ),
)

# the clean stage's per-document line keys, from which per-outlet templates are learned without reading
# the documents again (staging.source_templates, staging.template_lines)
TABLES += (
    Table(
        "cache.document_lines",
        "The distinct line keys of each text document, from which the clean stage learns per-outlet templates without reading the document again (working database only).",
        key=("doc_id",),
        since=4,
        published=False,
        columns=(
            C("doc_id", STR, "Document id (key, references raw.documents).", not_null=True),
            C(
                "lines_version",
                I32,
                "Version of the line normalisation (pipeline.core.templates.LINE_KEY_VERSION); rows of another version are computed again.",
            ),
            C(
                "text_hash",
                STR,
                "Digest of the raw text: documents of an outlet with the same text count once.",
            ),
            C(
                "line_keys",
                STRS,
                "Hashes of the document's distinct normalised lines (pipeline.core.templates.document_lines).",
            ),
        ),
    ),
)

# ---- the lexical steps' own values (sentence traits), kept so that a batch computes only its new rows
TABLES += (
    Table(
        "cache.sentence_traits",
        "The flags of a sentence that depend on the sentence alone (quotation share, stock-text reason), reused by the next overlap run (working database only).",
        key=("trait_key", "tk1", "tk2"),
        since=4,
        published=False,
        columns=(
            C(
                "trait_key",
                STR,
                "Fingerprint of the traits' code (flag rules, stock-text model, polars version); rows of another key are ignored.",
                not_null=True,
            ),
            C(
                "tk1",
                I64,
                "First 64-bit hash of the sentence's text, normalised text and position cue (first two or last three of its document).",
                not_null=True,
            ),
            C("tk2", I64, "Second 64-bit hash of the same (another seed).", not_null=True),
            C("quote_share", F64, "sentence_flags.quote_share."),
            C("stock_reason", STR, "sentence_flags.stock_reason."),
        ),
    ),
    Table(
        "cache.word_tokens",
        "The content words of each distinct normalised sentence (paraphrase blocking), reused by the next overlap run (working database only).",
        key=("token_key", "norm_hash"),
        since=4,
        published=False,
        columns=(
            C(
                "token_key",
                STR,
                "Fingerprint of the words' inputs other than the text (code, stop words, polars version, token limit, seed); rows of another key are ignored.",
                not_null=True,
            ),
            C("norm_hash", STR, "The normalised sentence (staging.sentences.norm_hash).", not_null=True),
            C("tokens", BYTES, "Little-endian uint64 hashes of its distinct content words, ascending."),
        ),
    ),
)

# ---- LSH banding kept between runs (postings, the banded hashes and their collisions)
TABLES += (
    Table(
        "cache.lsh_postings",
        "LSH postings: the bucket of each banded normalised sentence in each band, so that a new sentence is banded against the stored ones only (working database only).",
        since=4,
        published=False,
        columns=(
            C(
                "lsh_key",
                STR,
                "Fingerprint of the banding (the signatures' key, the banding code, lsh_bands, lsh_max_bucket); rows of another key are ignored.",
                not_null=True,
            ),
            C("band", I32, "Band number (0 .. lsh_bands - 1)."),
            C("bucket", I64, "The band's key: the band's signature values folded into 64 bits."),
            C("norm_hash", STR, "The normalised sentence (staging.sentences.norm_hash)."),
        ),
    ),
    Table(
        "cache.lsh_members",
        "The normalised sentences the last overlap run banded (its matchable ones), so that the next run re-derives only the buckets a sentence joined or left (working database only).",
        key=("lsh_key", "norm_hash"),
        since=4,
        published=False,
        columns=(
            C("lsh_key", STR, "As cache.lsh_postings.lsh_key.", not_null=True),
            C("norm_hash", STR, "The normalised sentence.", not_null=True),
        ),
    ),
    Table(
        "cache.lsh_pairs",
        "The band collisions of the last overlap run: pairs of banded sentences sharing a bucket, with how many buckets produce the pair and their estimated Jaccard (working database only).",
        key=("lsh_key", "norm_hash_a", "norm_hash_b"),
        since=4,
        published=False,
        columns=(
            C("lsh_key", STR, "As cache.lsh_postings.lsh_key.", not_null=True),
            C("norm_hash_a", STR, "The smaller normalised sentence hash of the pair.", not_null=True),
            C("norm_hash_b", STR, "The larger one.", not_null=True),
            C(
                "n_buckets",
                I64,
                "Buckets (band, key) producing the pair (all pairs of a bucket of at most lsh_max_bucket members, else its smallest member with each other one).",
            ),
            C("jaccard", F64, "MinHash estimate of the pair's Jaccard (share of equal signature values)."),
        ),
    ),
)

# ---- rare-word document pairs kept between runs (paraphrase blocking)
TABLES += (
    Table(
        "cache.rare_doc_sets",
        "Each document's set of rare words (paraphrase blocking) as of the last overlap run, so that the next run recomputes the document pairs of changed documents only (working database only).",
        key=("block_key", "doc_id"),
        since=4,
        published=False,
        columns=(
            C(
                "block_key",
                STR,
                "Fingerprint of the blocking (the words' key, the blocking code, rare_token_max_docs, doc_min_shared_rare, doc_min_rare_overlap); rows of another key are ignored.",
                not_null=True,
            ),
            C("doc_id", STR, "The document.", not_null=True),
            C("rk1", I64, "First 64-bit hash of its sorted rare words."),
            C("rk2", I64, "Second 64-bit hash of the same (another seed)."),
            C("n_rare", I64, "Its rare words."),
        ),
    ),
    Table(
        "cache.rare_doc_pairs",
        "Document pairs sharing enough rare words (at least doc_min_shared_rare, overlap coefficient at least doc_min_rare_overlap) as of the last overlap run; each document's doc_top_k best are paraphrase candidates (working database only).",
        key=("block_key", "doc_id_a", "doc_id_b"),
        since=4,
        published=False,
        columns=(
            C("block_key", STR, "As cache.rare_doc_sets.block_key.", not_null=True),
            C("doc_id_a", STR, "The smaller document id.", not_null=True),
            C("doc_id_b", STR, "The larger one.", not_null=True),
            C("n_shared", I64, "Rare words the two share."),
            C("overlap", F64, "n_shared over the smaller document's number of rare words."),
        ),
    ),
)

# ---- the semantic tier's static encoder vectors, kept so that a batch encodes only new texts
TABLES += (
    Table(
        "cache.static_vectors",
        "The static encoder's quantised vector of each distinct text the semantic tier embedded for its candidates, reused by the next overlap run (working database only).",
        key=("static_key", "text_key"),
        since=5,
        published=False,
        columns=(
            C(
                "static_key",
                STR,
                "Fingerprint of the vector's inputs other than the text (the static encoder's table, centre and tokenizer, the encoding and quantising code, library versions); rows of another key are ignored.",
                not_null=True,
            ),
            C(
                "text_key",
                STR,
                "Digest of the text exactly as encoded (the grading text: the sentence cut to max_grade_chars).",
                not_null=True,
            ),
            C("vector", BYTES, "The centred unit vector as int8 round(127 x), one byte per dimension."),
        ),
    ),
)

# ---- the document-level evidence of matches, kept so that a batch classifies only the pairs it changed
TABLES += (
    Table(
        "cache.pair_evidence",
        "The evidence of the matches of each document pair (the relation, novel n-grams and stock cover of each match, the pair's aligned chain) under a digest of everything it is computed from, reused by the next overlap run for the pairs whose digest is unchanged (working database only).",
        key=("evidence_key", "pair_digest", "sentence_id_a", "sentence_id_b"),
        since=6,
        published=False,
        columns=(
            C(
                "evidence_key",
                STR,
                "Fingerprint of the evidence's inputs other than the pair's matches (the evidence and stock-text code, the stock model, the settings, library versions); rows of another key are ignored.",
                not_null=True,
            ),
            C(
                "pair_digest",
                STR,
                "Digest of the document pair's match rows (every column), the normalised text of their sentences and the matchable sentences of both documents.",
                not_null=True,
            ),
            C("sentence_id_a", STR, "As marts.sentence_matches.sentence_id_a.", not_null=True),
            C("sentence_id_b", STR, "As marts.sentence_matches.sentence_id_b.", not_null=True),
            C("doc_id_a", STR, "The smaller document id of the pair."),
            C("doc_id_b", STR, "The larger one."),
            C("novel_ngrams", I64, "As marts.sentence_matches.novel_ngrams."),
            C("stock_cover", F64, "As marts.sentence_matches.stock_cover."),
            C("relation", STR, "As marts.sentence_matches.relation."),
            C("n_aligned", I64, "The pair's aligned chain: its matches (as marts.document_pairs.n_aligned)."),
            C("aligned_weight", F64, "Its weight (as marts.document_pairs.aligned_weight)."),
            C("shares_text", BOOL, "Whether the pair shares text (an aligned chain long and heavy enough)."),
        ),
    ),
)

# ---- each document's content words, kept so that a batch counts the words' document frequencies of its
# changed documents only (paraphrase blocking)
TABLES += (
    Table(
        "cache.doc_word_digests",
        "A digest of each document's matchable sentences as of the last overlap run, naming the word set kept for it in cache.doc_words (working database only).",
        key=("words_key", "doc_id"),
        since=7,
        published=False,
        columns=(
            C(
                "words_key",
                STR,
                "Fingerprint of the words (the content words' key, the counting code); rows of another key are ignored.",
                not_null=True,
            ),
            C("doc_id", STR, "The document.", not_null=True),
            C("wk1", I64, "First 64-bit hash of the sorted hashes of its matchable normalised sentences."),
            C("wk2", I64, "Second 64-bit hash of the same (another seed)."),
        ),
    ),
    Table(
        "cache.doc_words",
        "The distinct content words of each document's matchable sentences as of the last overlap run, one row per document and word; a word's document frequency is a count over this table (working database only).",
        since=7,
        published=False,
        columns=(
            C("words_key", STR, "As cache.doc_word_digests.words_key.", not_null=True),
            C("doc_id", STR, "The document."),
            C(
                "tok",
                I64,
                "A 64-bit hash of the word (candidates_paraphrase.content_tokens), as a signed integer.",
            ),
        ),
    ),
)
