"""A document that takes too long to clean becomes an error row; the run goes on."""

import time

from pipeline.config import reload_settings
from pipeline.core import stages


def test_slow_document_times_out(monkeypatch):
    def slow(*args, **kwargs):
        time.sleep(5)

    monkeypatch.setattr(stages, "clean_document", slow)
    monkeypatch.setenv("WIRETRACE_CLEAN_TIMEOUT", "0.2")
    reload_settings()
    t0 = time.perf_counter()
    doc_id, out, error = stages._clean_one(("d1", "html", "<p>x</p>", "AFP"))
    assert time.perf_counter() - t0 < 2
    assert (doc_id, out) == ("d1", None) and error.startswith(
        "TimeoutError: cleaning this document took longer"
    )


def test_time_limit_leaves_fast_work_alone():
    with stages.time_limit(5, "quick work"):
        assert sum(range(1000)) == 499500
