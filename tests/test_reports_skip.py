"""The reports step renders again only when the analysts' database or the report code changed."""

import os

from pipeline.defs.publish import reports


def test_pages_are_current_only_for_the_file_they_were_rendered_from(tmp_path):
    db = tmp_path / "wiretrace.duckdb"
    db.write_bytes(b"published")
    out = tmp_path / "reports"
    assert not reports.reports_current(out, db)  # never rendered
    out.mkdir()
    (out / reports.SOURCE_FILE).write_text(reports.rendered_from(db), encoding="utf-8")
    assert reports.reports_current(out, db)  # a publish that wrote nothing leaves the file as it was
    st = db.stat()
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a new publish swapped a file in
    assert not reports.reports_current(out, db)
    (out / reports.SOURCE_FILE).write_text(reports.rendered_from(db), encoding="utf-8")
    db.write_bytes(b"published again")
    assert not reports.reports_current(out, db)
