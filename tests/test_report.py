"""The HTML reuse report: every match linked both ways, kinds as classes, removed boilerplate greyed in
place with its reason, untrusted text escaped; and the page in headless Chromium (screenshot, live DOM,
clicking a sentence highlights its partners)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import lxml.html
import pytest

from pipeline.core.clean.document import normalise_text
from pipeline.core.report import KIND_ORDER, place_removed, render_story, write_reports
from pipeline.core.run import run_pipeline
from tests import browser
from tests.conftest import SAMPLE

EVIL_TITLE = "<script>alert('title')</script> & \"quoted\""
EVIL_SOURCE = "Mallory' onmouseover='alert(2)"
SHARED = [
    "<img src=x onerror=alert(1)> Officials confirmed on Tuesday that the old river bridge will stay closed for "
    "at least six weeks after inspectors found deep cracks in two of its supports.",
    "The regional transport office said buses would replace the tram line across the river while engineers "
    "examine the damaged piers and prepare a repair plan.",
    "Shopkeepers near the bridge told reporters that trade had already fallen sharply since the first "
    "warnings were posted on Monday evening.",
]


def _evil_records() -> list[dict]:
    body = "\n\n".join(SHARED)
    return [
        {
            "id": "e1",
            "source": "Evil <b>Wire</b>",
            "title": EVIL_TITLE,
            "published_at": "2024-03-01T08:00:00",
            "text": body + "\n\n© Copyright Evil <Wire> 2024. All rights reserved.",
        },
        {
            "id": "e2",
            "source": EVIL_SOURCE,
            "title": "Bridge </title><script>alert(3)</script>",
            "published_at": "2024-03-02T09:00:00",
            "text": body
            + "\n\nThe mayor promised a decision on a temporary crossing by the end of the month, "
            "when the first inspection report is due.",
        },
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A warehouse from the sample corpus plus two hostile records, and the rendered report pages."""
    root = tmp_path_factory.mktemp("report")
    landing = root / "landing"
    shutil.copytree(SAMPLE, landing)
    (landing / "evil").mkdir()
    (landing / "evil" / "hostile.jsonl").write_text(
        "\n".join(json.dumps(r) for r in _evil_records()) + "\n", encoding="utf-8"
    )
    wh = root / "wh"
    run_pipeline(landing, wh, encoder=None)
    db = wh / "wiretrace.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    pages = write_reports(con, root / "reports")
    yield {"con": con, "db": db, "wh": wh, "pages": {p.stem: p for p in pages}, "out": root / "reports"}
    con.close()


def _story_of(con, source: str) -> str:
    return con.sql(
        "SELECT st.story_id FROM marts.stories st JOIN raw.documents d USING (doc_id) WHERE d.source = ?",
        params=[source],
    ).fetchall()[0][0]


def _dom(page: Path):
    return lxml.html.fromstring(page.read_text(encoding="utf-8"))


def _story_matches(con, story_id: str) -> list[tuple]:
    return con.sql(
        """SELECT m.sentence_id_a, m.sentence_id_b, m.kind, m.is_quote FROM marts.sentence_matches m
           JOIN marts.stories sa ON sa.doc_id = m.doc_id_a JOIN marts.stories sb ON sb.doc_id = m.doc_id_b
           WHERE sa.story_id = ? AND sb.story_id = ?""",
        params=[story_id, story_id],
    ).fetchall()


def q(el, selector: str, attr: str | None = None) -> list:
    """Descendants matching ``tag.class1.class2`` (tag optional), optionally having ``attr``."""
    tag, *classes = selector.split(".")
    cond = "".join(f"[contains(concat(' ', normalize-space(@class), ' '), ' {c} ')]" for c in classes)
    if attr:
        cond += f"[@{attr}]"
    return el.xpath(f".//{tag or '*'}{cond}")


def dom_id(sentence_id: str) -> str:
    return "s-" + sentence_id.replace(":", "-")


def test_pages_and_index(built):
    con = built["con"]
    multi = {r[0] for r in con.sql("SELECT story_id FROM marts.stories WHERE n_docs >= 2").fetchall()}
    assert set(built["pages"]) == multi
    assert _story_of(con, "AFP") in multi and _story_of(con, EVIL_SOURCE) in multi
    index = _dom(built["out"] / "index.html")
    assert {a.get("href") for a in index.iter("a")} == {f"{s}.html" for s in multi}


def test_every_match_is_linked_both_ways(built):
    con = built["con"]
    story = _story_of(con, "AFP")
    doc = _dom(built["pages"][story])
    matches = _story_matches(con, story)
    assert len(matches) > 30
    for a, b, _kind, _quote in matches:
        for me, other in ((a, b), (b, a)):
            span = doc.get_element_by_id(dom_id(me))
            assert span.tag == "span" and "s" in span.classes
            assert dom_id(other) in json.loads(span.get("data-partners")), (me, other)
            # a plain link (no JavaScript needed) from this sentence to its partner
            refs = span.getnext()
            assert refs is not None and refs.tag == "sup" and "refs" in refs.classes
            assert f"#{dom_id(other)}" in [x.get("href") for x in q(refs, "a.ref")], (me, other)
            assert doc.get_element_by_id(dom_id(other)).tag == "span"
    # no sentence claims a partner that is not a match
    pairs = {(a, b) for a, b, _k, _q in matches} | {(b, a) for a, b, _k, _q in matches}
    for span in q(doc, "span.s", "data-partners"):
        me = span.get("id")
        for other in json.loads(span.get("data-partners")):
            assert any(dom_id(x) == me and dom_id(y) == other for x, y in pairs)


def test_kind_classes(built):
    con = built["con"]
    story = _story_of(con, "AFP")
    doc = _dom(built["pages"][story])
    best: dict[str, str] = {}
    all_quote: dict[str, bool] = defaultdict(lambda: True)
    for a, b, kind, quote in _story_matches(con, story):
        for s in (a, b):
            if s not in best or KIND_ORDER[kind] < KIND_ORDER[best[s]]:
                best[s] = kind
            all_quote[s] &= bool(quote)
    assert set(best.values()) == {"exact", "near", "paraphrase"}
    for sid, kind in best.items():
        classes = set(doc.get_element_by_id(dom_id(sid)).classes)
        assert kind in classes and not (set(KIND_ORDER) - {kind}) & classes, sid
        assert ("quote" in classes) == all_quote[sid], sid
    # every sentence of the story is on the page, unmatched ones without a kind
    sentences = con.sql(
        """SELECT s.sentence_id, s.text FROM staging.sentences s JOIN marts.stories st USING (doc_id)
           WHERE st.story_id = ?""",
        params=[story],
    ).fetchall()
    for sid, text in sentences:
        span = copy.deepcopy(doc.get_element_by_id(dom_id(sid)))
        for rm in q(span, ".rm"):
            rm.drop_tree()
        assert re.sub(r"\s+", "", span.text_content()) == re.sub(r"\s+", "", text)
        if sid not in best:
            assert not set(KIND_ORDER) & set(span.classes) and span.get("data-partners") is None
    legend = q(doc, ".legend")[0]
    assert {c for e in q(legend, ".s") for c in e.classes} >= {"exact", "near", "paraphrase", "quote"}


def test_removed_boilerplate_in_place_with_reasons(built):
    """Reading an article's column top to bottom (kept text and greyed removals) gives back the page."""
    con = built["con"]
    story = _story_of(con, "AFP")
    doc = _dom(built["pages"][story])
    docs = con.sql(
        """SELECT d.doc_id, d.raw_text FROM raw.documents d JOIN marts.stories st USING (doc_id)
           WHERE st.story_id = ? AND d.kind = 'text'""",
        params=[story],
    ).fetchall()
    # AFP, Press TV, Washington Newsday and AceNewsDesk share text; the blog shares only quotations with
    # them, which does not link a story
    assert len(docs) >= 4
    for doc_id, raw in docs:
        body = copy.deepcopy(doc.get_element_by_id(f"doc-{doc_id}").find(".//div[@class='body']"))
        removed = con.sql(
            "SELECT text, reason FROM staging.removed_spans WHERE doc_id = ? AND reason <> 'whitespace' "
            "ORDER BY span_index",
            params=[doc_id],
        ).fetchall()
        shown = [(e.text or "", e.get("data-reason")) for e in q(body, "span.rm")]
        assert [(t.strip(), r) for t, r in removed if t.strip()] == [(t.strip(), r) for t, r in shown]
        assert all(q(e, ".why")[0].text == e.get("data-reason") for e in q(body, "span.rm"))
        assert not q(body, ".unplaced"), doc_id
        for junk in q(body, "sup.refs") + q(body, "span.why"):
            junk.drop_tree()
        assert re.sub(r"\s+", "", body.text_content()) == re.sub(r"\s+", "", normalise_text(raw)), doc_id
    # a few placements a reader relies on
    afp = con.sql("SELECT doc_id FROM raw.documents WHERE source = 'AFP'").fetchall()[0][0]
    afp_body = doc.get_element_by_id(f"doc-{afp}").find(".//div[@class='body']")
    children = [c for c in afp_body if c.tag in ("p", "div")]
    assert children[0].tag == "div" and q(children[0], "span.rm")[0].get("data-reason") == "title"
    assert children[-1].tag == "div" and "Copyright AFP" in children[-1].text_content()
    assert q(children[-1], "span.rm")[0].get("data-reason") == "copyright"


def _spans(result) -> list[dict]:
    return [
        {"start_offset": s.start, "end_offset": s.end, "text": s.text, "reason": s.reason}
        for s in result.removed
    ]


def _where(placement) -> list[tuple]:
    return sorted(
        [("inline", pos, s["reason"]) for pos, s in placement.inline]
        + [("block", k, s["reason"]) for k, v in placement.blocks.items() for s in v]
    )


def test_place_removed_blocks_inline_and_fallback():
    from pipeline import clean_document

    first = (
        "Heavy rain flooded the harbour district on Sunday night, officials said, and schools stayed shut."
    )
    raw = (
        f"Storm hits coast\n\n{first}\nAdvertisement\nThe mayor ordered schools to stay closed on Monday "
        "while crews cleared the streets.Brief News from Washington Newsday.\n\n"
        "© Copyright AFP 2024. All rights reserved.\n"
    )
    r = clean_document(raw, kind="text")
    assert r.text.count("\n\n") == 1  # two paragraphs
    placement = place_removed(r.text, _spans(r), r.input_text)
    assert placement.placed
    end_of_text = len(r.text)
    assert _where(placement) == [
        ("block", 0, "title"),  # above the first paragraph
        ("block", 1, "advertisement"),  # between the two paragraphs
        ("block", 2, "copyright"),  # after the last one
        ("inline", end_of_text, "promo_glued"),  # glued to the last sentence
    ]
    # without the cleaner's input the kept pieces cannot be told from the layout around them: every
    # span is listed at the end, none dropped
    blind = place_removed(r.text, _spans(r))
    assert not blind.placed and not blind.inline
    assert [s["reason"] for v in blind.blocks.values() for s in v] == [s.reason for s in r.removed]
    # offsets that do not fit the clean text: everything listed at the end, nothing dropped
    for text, input_text in ((r.text + " extra", r.input_text), (r.text, "x" + r.input_text)):
        broken = place_removed(text, _spans(r), input_text)
        assert not broken.placed and not broken.inline
        assert [s["reason"] for v in broken.blocks.values() for s in v] == [s.reason for s in r.removed]


def test_untrusted_text_is_escaped(built):
    con = built["con"]
    story = _story_of(con, EVIL_SOURCE)
    page = built["pages"][story].read_text(encoding="utf-8")
    for bad in ("<script>alert", "<img src=x", "<b>Wire</b>", "</title><script>", "<Wire>"):
        assert bad not in page
    doc = lxml.html.fromstring(page)
    assert len(list(doc.iter("script"))) == 1 and "alert" not in list(doc.iter("script"))[0].text
    assert not list(doc.iter("img")) and not any(b.text == "Wire" for b in doc.iter("b"))
    assert all(not k.startswith("on") for e in doc.iter() if isinstance(e.tag, str) for k in e.attrib)
    text = doc.text_content()
    assert EVIL_TITLE in text and EVIL_SOURCE in text and "Evil <b>Wire</b>" in text
    assert "<img src=x onerror=alert(1)>" in text and "© Copyright Evil <Wire> 2024" in text
    assert q(doc, "span.s.exact")  # the two hostile records do match each other
    assert doc.find(".//title").text.startswith("Bridge </title>") or EVIL_TITLE in doc.find(".//title").text


def test_render_story_unknown_and_cli(built, tmp_path):
    with pytest.raises(KeyError):
        render_story(built["con"], "s-not-a-story")
    out = tmp_path / "pages"
    story = _story_of(built["con"], "AFP")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "report",
            "--database",
            str(built["db"]),
            "--out",
            str(out),
            "--story",
            story,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / f"{story}.html").read_text(encoding="utf-8") == built["pages"][story].read_text(
        encoding="utf-8"
    )
    missing = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "report", "--database", str(tmp_path / "nope.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "not found" in missing.stderr


def _ids(con) -> dict[str, str]:
    return {s: d for d, s in con.sql("SELECT doc_id, source FROM raw.documents").fetchall()}


def test_large_story_is_cut_to_max_docs(built):
    con = built["con"]
    story = _story_of(con, "AFP")
    doc = lxml.html.fromstring(render_story(con, story, max_docs=3))
    shown = [a.get("id") for a in doc.iter("article")]
    # sources first (documents with no inferred source), then oldest first
    first = con.sql(
        """SELECT d.doc_id FROM marts.stories st JOIN marts.documents d USING (doc_id)
           JOIN marts.document_originality o USING (doc_id) WHERE st.story_id = ?
           ORDER BY o.inferred_source_doc_id IS NOT NULL, d.published_at NULLS LAST, d.source, d.doc_id LIMIT 3""",
        params=[story],
    ).fetchall()
    assert shown == [f"doc-{d}" for (d,) in first]
    assert shown[0] == f"doc-{_ids(con)['AFP']}"
    n_docs = con.sql("SELECT count(*) FROM marts.stories WHERE story_id = ?", params=[story]).fetchall()[0][0]
    assert n_docs >= 4
    assert f"showing the first 3; {n_docs - 3} more left out" in doc.text_content()
    ids = {e.get("id") for e in q(doc, "span.s")}
    for span in q(doc, "span.s", "data-partners"):
        assert set(json.loads(span.get("data-partners"))) <= ids  # no link to an article not on the page
    with pytest.raises(ValueError):
        render_story(con, story, max_docs=0)


def test_page_is_self_contained(built):
    page = built["pages"][_story_of(built["con"], "AFP")].read_text(encoding="utf-8")
    assert not re.search(r"(?:src|href)\s*=\s*['\"]?(?:https?:)?//", page)
    assert "@import" not in page and "url(http" not in page


@pytest.mark.browser
def test_screenshot_in_headless_chromium(built, tmp_path):
    browser.require_chromium()
    page = built["pages"][_story_of(built["con"], "AFP")]
    png = browser.screenshot(page.resolve().as_uri(), tmp_path / "report.png")
    data = png.read_bytes()
    assert data[:8] == browser.PNG_MAGIC
    assert len(data) > 50_000  # a rendered page of coloured text, not a blank canvas
    # width and height from the IHDR chunk
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1600, 1200)


@pytest.mark.browser
@pytest.mark.slow
def test_click_highlights_partners_in_live_dom(built):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    con = built["con"]
    story = _story_of(con, "AFP")
    matched = {s for a, b, _k, _q in _story_matches(con, story) for s in (a, b)}
    with browser.driver() as drv:
        drv.get(built["pages"][story].resolve().as_uri())
        spans = drv.find_elements(By.CSS_SELECTOR, "span.s[data-partners]")
        assert {s.get_attribute("id") for s in spans} == {dom_id(s) for s in matched}
        assert drv.find_elements(By.CSS_SELECTOR, "span.rm")
        # a sentence late in the first column, so that its partners need scrolling into view
        first_col = drv.find_elements(By.CSS_SELECTOR, "article.doc")[0]
        target = first_col.find_elements(By.CSS_SELECTOR, "span.s[data-partners]")[-1]
        drv.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", target)
        target.click()
        partners = json.loads(target.get_attribute("data-partners"))
        assert partners
        assert "focus" in target.get_attribute("class").split()
        for pid in partners:
            assert "partner" in drv.find_element(By.ID, pid).get_attribute("class").split()
        assert len(drv.find_elements(By.CSS_SELECTOR, ".partner")) == len(partners)

        def in_view(_):
            return all(
                drv.execute_script(
                    "var p = document.getElementById(arguments[0]), c = p.closest('.body');"
                    "var r = p.getBoundingClientRect(), b = c.getBoundingClientRect();"
                    "return r.top >= b.top - 1 && r.bottom <= b.bottom + 1;",
                    pid,
                )
                for pid in partners
            )

        WebDriverWait(drv, 10, poll_frequency=0.2).until(in_view)
        assert drv.find_element(By.ID, "sel").text.startswith("A (")
        # the plain link to a partner selects that pair as well
        other = drv.find_elements(By.CSS_SELECTOR, "article.doc")[2].find_elements(By.CSS_SELECTOR, "a.ref")[
            0
        ]
        drv.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", other)
        other.click()
        href = other.get_attribute("href").split("#", 1)[1]
        assert "partner" in drv.find_element(By.ID, href).get_attribute("class").split()
        assert (
            "focus"
            in drv.find_element(By.ID, other.get_attribute("data-from")).get_attribute("class").split()
        )
        # clicking elsewhere clears the selection
        drv.find_element(By.CSS_SELECTOR, "h1").click()
        time.sleep(0.1)
        assert not drv.find_elements(By.CSS_SELECTOR, ".focus, .partner")


def test_dagster_reports_asset(built, tmp_path):
    import dagster as dg

    from pipeline.defs.publish.reports import REUSE_REPORTS, reuse_reports
    from pipeline.defs.resources import WiretraceResource

    wh = tmp_path / "wh"
    wh.mkdir()
    shutil.copy(built["db"], wh / "wiretrace.duckdb")
    (wh / "reports").mkdir()
    (wh / "reports" / "s-stale.html").write_text("old", encoding="utf-8")
    resource = WiretraceResource(landing_dir=str(tmp_path / "landing"), warehouse_dir=str(wh))
    result = dg.materialize([reuse_reports], resources={"wiretrace": resource})
    assert result.success
    assert reuse_reports.group_names_by_key[REUSE_REPORTS] == "publish"
    assert dg.AssetKey(["publish", "analyst_warehouse"]) in reuse_reports.asset_deps[REUSE_REPORTS]
    meta = result.asset_materializations_for_node("publish__reuse_reports")[0].metadata
    pages = sorted(p.name for p in (wh / "reports").glob("s*.html"))
    assert pages == sorted(p.name for p in built["pages"].values())  # the stale page is gone
    assert meta["pages"].value == len(pages)
    assert meta["path"].value == str(wh / "reports")
    md = meta["stories"].value
    assert all(p.removesuffix(".html") in md for p in pages)
    assert "<script>" not in md and "\\<script\\>" in md  # the hostile title, as literal text
    # the published database is only read: an absent one is a clear failure
    (wh / "wiretrace.duckdb").unlink()
    failed = dg.materialize([reuse_reports], resources={"wiretrace": resource}, raise_on_error=False)
    assert not failed.success


def test_place_removed_in_html_documents_from_the_rebuilt_cleaner_input():
    from pipeline import clean_document
    from pipeline.core.clean.document import cleaner_input

    body = "".join(
        f"<p>Paragraph {i} of the flood story: crews worked through the night to clear the streets.</p>"
        for i in range(6)
    )
    page = (
        "<html><head><title>Floods hit the coast</title></head><body><article><h1>Floods hit the coast</h1>"
        f"{body}<p>Advertisement</p><p>(c) Copyright AFP 2024. All rights reserved.</p></article></body></html>"
    )
    r = clean_document(page, kind="html")
    assert {s.reason for s in r.removed} >= {"advertisement", "copyright"}
    assert cleaner_input(page, "html") == r.input_text
    placement = place_removed(r.text, _spans(r), cleaner_input(page, "html"))
    assert placement.placed
    assert [reason for _kind, _where_at, reason in _where(placement)] == [s.reason for s in r.removed]


def test_a_second_rendering_renders_only_the_stories_whose_rows_changed(built, tmp_path):
    """Pages of stories whose rows are unchanged are kept from the earlier rendering; a story whose rows
    changed is rendered again, and every page equals one rendered from scratch."""
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(built["db"], db)
    first, stats = tmp_path / "first", {}
    con = duckdb.connect(str(db))
    try:
        pages = write_reports(con, first, stats=stats)
        assert stats == {"rendered": len(pages), "reused": 0} and len(pages) >= 2
        again, stats = tmp_path / "again", {}
        write_reports(con, again, reuse_from=first, stats=stats)
        assert stats == {"rendered": 0, "reused": len(pages)}
        assert all((again / p.name).read_bytes() == p.read_bytes() for p in pages)
        # one story's document gets another title: only that story's page is rendered again
        story = _story_of(con, "Evil <b>Wire</b>")
        con.execute(
            "UPDATE raw.documents SET title = 'A corrected headline' WHERE source = ?", ["Evil <b>Wire</b>"]
        )
        third, stats = tmp_path / "third", {}
        write_reports(con, third, reuse_from=again, stats=stats)
        assert stats == {"rendered": 1, "reused": len(pages) - 1}
        assert "A corrected headline" in (third / f"{story}.html").read_text(encoding="utf-8")
        assert "A corrected headline" in (third / "index.html").read_text(encoding="utf-8")
        fresh = tmp_path / "fresh"
        write_reports(con, fresh)
        for name in sorted(p.name for p in fresh.glob("*.html")):
            assert (third / name).read_bytes() == (fresh / name).read_bytes(), name
        # pages rendered by other code are rendered again
        manifest = json.loads((third / ".pages.json").read_text(encoding="utf-8"))
        manifest["code"] = "older"
        (third / ".pages.json").write_text(json.dumps(manifest), encoding="utf-8")
        write_reports(con, tmp_path / "fourth", reuse_from=third, stats=stats)
        assert stats["rendered"] == len(pages)
    finally:
        con.close()
