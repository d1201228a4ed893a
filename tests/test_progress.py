"""Progress a person can read: what the stages report becomes bars with counts, units and rates, or log
lines at intervals; overlap's step announcements are not bars of their own."""

import io
import re

from pipeline.core.progress import ProgressBars, ProgressLog, attach, reporter


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def feed(target, clock, events):
    for t, step, done, total in events:
        clock.t = t
        target(step, done, total)


# a run: clean over 100 documents, then overlap steps, one of them embedding then grading, one quiet
# and slow, one quiet and fast
RUN = [
    (0.0, "clean", 0, 100),
    (5.0, "clean", 50, 100),
    (12.0, "clean", 80, 100),
    (13.0, "clean", 100, 100),
    (20.0, "grade_near", 0, 1),
    (30.0, "embed", 2048, 5000),
    (45.0, "embed", 5000, 5000),
    (46.0, "grade_near", 500, 1000),
    (47.0, "grade_near", 1000, 1000),
    (47.5, "grade_near", 1, 1),
    (48.0, "templates", 0, 1),
    (50.0, "templates", 1, 1),
    (50.0, "stories", 0, 1),
    (50.1, "stories", 1, 1),
]


def test_log_lines_at_intervals_with_counts_shares_and_rates():
    clock = FakeClock()
    lines: list[str] = []
    log = ProgressLog(lines.append, interval=10.0, clock=clock)
    feed(log, clock, RUN)
    log.close()
    assert lines == [
        "clean: 80/100 documents (80%), 12s so far, 6.7 documents/s",
        "clean: 100/100 documents in 13.0s, 7.7 documents/s",
        "grade_near embed: 2,048/5,000 sentences (41%), 10s so far, 205 sentences/s",
        "grade_near embed: 5,000/5,000 sentences in 25.0s, 200 sentences/s",
        # grading counts from when embedding ended
        "grade_near: 1,000/1,000 pairs in 2.0s, 500 pairs/s",
        "overlap templates: done in 2.0s",  # a slow step that counts nothing still says so; stories is quick
    ]


def test_a_count_of_unknown_total_is_logged_when_its_stage_ends():
    clock = FakeClock()
    lines: list[str] = []
    log = ProgressLog(lines.append, interval=10.0, clock=clock)
    feed(log, clock, [(0.0, "ingest", 1, 0), (2.0, "ingest", 40, 0), (4.0, "clean", 0, 3)])
    assert lines == ["ingest: 40 files in 2.0s, 20 files/s"]


def test_bars_count_documents_sentences_and_pairs_never_steps_of_one():
    out = io.StringIO()
    bars = ProgressBars(out)
    for _t, step, done, total in RUN:
        bars(step, done, total)
    bars.close()
    final = [re.sub(r"\s+", " ", line).strip() for line in out.getvalue().split("\r") if line.strip()]
    finished = [line for line in final if "100%" in line]
    assert [line.split(":")[0] for line in finished] == ["clean", "grade_near embed", "grade_near"]
    assert any("100/100" in line and "documents/s" in line for line in finished)
    assert any("5000/5000" in line and "sentences/s" in line for line in finished)
    assert any("1000/1000" in line and "pairs/s" in line for line in finished)
    # overlap's steps show on one status line, not as bars stuck at 0/1
    assert not any(re.search(r"\b[01]/1\b", line) for line in final)
    assert any("now templates" in line for line in final)


def test_attached_callbacks_receive_every_report():
    seen, own = [], []
    with attach(lambda *a: seen.append(a)):
        progress = reporter(lambda *a: own.append(a))
        progress("clean", 1, 2)
    reporter()("clean", 2, 2)  # detached: nobody hears it
    assert seen == own == [("clean", 1, 2)]
