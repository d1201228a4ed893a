"""Progress a person can read: bars on a terminal, log lines at intervals elsewhere.

The stages report progress through a plain callback ``progress(step, done, total)``:

* ``ingest``, ``clean`` and ``segment`` count files or documents (``total`` 0 when unknown);
* the overlap stage announces each of its steps with ``(step, 0, 1)`` when it starts and
  ``(step, 1, 1)`` when it ends, and counts the work of its slow steps in between: MinHash signatures
  (sentences), LSH candidate search (bands), embeddings (sentences), semantic candidate search
  (document pairs), grading and verification (sentence pairs), as ``(name, done, total)``.

``ProgressBars`` turns that into one tqdm bar per stage or counted step (counts, unit and rate, the
current overlap step beside it); ``ProgressLog`` into log lines, at most one per ``interval`` seconds
per step plus one when a step finishes (the Dagster assets write them to the run's log, ``wiretrace
run`` to stderr when it is not a terminal). ``UNITS`` names what each step counts.

``attach(callback)`` adds a callback that every stage run in this process reports to, besides the
one it was given: ``wiretrace run`` executes the Dagster job in-process and draws its bars this way.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Progress = Callable[[str, int, int], None]

#: stages that count their own work (never step markers)
STAGES = ("ingest", "clean", "segment", "publish")

#: what a step counts
UNITS: dict[str, str] = {
    "ingest": "files",
    "clean": "documents",
    "segment": "documents",
    "minhash": "sentences",
    "lsh": "bands",
    "embed": "sentences",
    "semantic_search": "doc pairs",
    "grade_near": "pairs",
    "grade_paraphrase": "pairs",
    "verify": "pairs",
}


def unit(step: str) -> str:
    return UNITS.get(step, "items")


def _rate(done: int, seconds: float, what: str) -> str:
    if seconds <= 0 or done <= 0:
        return ""
    per = done / seconds
    return f", {per:,.0f} {what}/s" if per >= 10 else f", {per:.1f} {what}/s"


class _Tracker:
    """Turns ``(step, done, total)`` reports into step starts, counts and step ends."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.step: str | None = None  # the overlap step running now
        self._ended: str | None = None
        self._step_t0 = 0.0
        self._mark = clock()  # when the last count of the running step reported
        self._counted: dict[str, float] = {}  # counted work -> when it started

    def __call__(self, step: str, done: int, total: int) -> None:
        now = self._clock()
        if step not in STAGES and total == 1 and done in (0, 1):
            if done == 0:  # a step starts
                self._finish_counts()
                self.step, self._ended, self._step_t0, self._mark = step, None, now, now
                self.step_started(step)
                return
            if step == self.step:  # the step ends
                for key in [k for k in self._counted if k == step or k.startswith(f"{step} ")]:
                    self.count_closed(key)
                    del self._counted[key]
                self.step, self._ended = None, step
                self.step_ended(step, now - self._step_t0)
                return
            if step == self._ended:  # a one-item count already closed its step
                return
        key = step if step in STAGES or step == self.step or self.step is None else f"{self.step} {step}"
        if key not in self._counted:
            if step in STAGES:  # a stage starts: the counts of the one before are finished
                self._finish_counts()
            # inside an overlap step a count began when the step began or the count before it ended
            start = now if step in STAGES else self._mark
            self._counted[key] = start
            self.count_started(key, start)
        self._mark = now
        self.counted(key, unit(step), done, total, now - self._counted[key])
        if step in STAGES and total and done >= total:
            self.count_closed(key)
            del self._counted[key]

    def _finish_counts(self) -> None:
        for key in list(self._counted):
            self.count_closed(key)
        self._counted.clear()

    def close(self) -> None:
        """Finish what is still open (at the end of a stage or of the run)."""
        self._finish_counts()

    # what a renderer does
    def count_started(self, key: str, start: float) -> None: ...

    def step_started(self, step: str) -> None: ...

    def step_ended(self, step: str, seconds: float) -> None: ...

    def counted(self, key: str, what: str, done: int, total: int, seconds: float) -> None: ...

    def count_closed(self, key: str) -> None: ...


class ProgressLog(_Tracker):
    """Log lines: per counted step at most one line every ``interval`` seconds and one when it is
    finished (count, share, rate); per overlap step without counts one line when it ends, if it took
    ``min_step_seconds`` or more."""

    def __init__(
        self,
        emit: Callable[[str], None],
        interval: float = 10.0,
        clock=time.monotonic,
        min_step_seconds: float = 1.0,
    ):
        super().__init__(clock)
        self._emit = emit
        self.interval = interval
        self.min_step_seconds = min_step_seconds
        self._last_line: dict[str, float] = {}
        self._pending: dict[str, tuple[str, int, int, float]] = {}  # latest count not yet logged
        self._counted_in_step = False

    def _line(self, key: str, what: str, done: int, total: int, seconds: float, final: bool) -> str:
        of = f"{done:,}/{total:,}" if total else f"{done:,}"
        share = "" if final or not total else f" ({done / total:.0%})"
        timing = f" in {seconds:.1f}s" if final else f", {seconds:.0f}s so far"
        return f"{key}: {of} {what}{share}{timing}{_rate(done, seconds, what)}"

    def count_started(self, key: str, start: float) -> None:
        self._last_line[key] = start  # the first line after one interval (or when it is finished)

    def step_started(self, step: str) -> None:
        self._counted_in_step = False

    def step_ended(self, step: str, seconds: float) -> None:
        if not self._counted_in_step and seconds >= self.min_step_seconds:
            self._emit(f"overlap {step}: done in {seconds:.1f}s")

    def counted(self, key: str, what: str, done: int, total: int, seconds: float) -> None:
        self._counted_in_step = True
        final = bool(total) and done >= total
        now = self._clock()
        if final or (done and now - self._last_line.get(key, now) >= self.interval):
            self._last_line[key] = now
            self._pending.pop(key, None)
            self._emit(self._line(key, what, done, total, seconds, final))
        else:
            self._pending[key] = (what, done, total, seconds)

    def count_closed(self, key: str) -> None:
        self._last_line.pop(key, None)
        pending = self._pending.pop(key, None)
        if pending is not None:
            self._emit(self._line(key, *pending, final=True))


class ProgressBars(_Tracker):
    """tqdm bars on ``file`` (stderr): one per stage and per counted overlap step, with the count, the
    unit and the rate; a status line names the overlap step running while nothing is counted."""

    def __init__(self, file: TextIO | None = None):
        super().__init__()
        self._file = file or sys.stderr
        self._bars: dict = {}
        self._status = None
        self._steps_done = 0

    def _tqdm(self, **kw):
        from tqdm import tqdm

        return tqdm(file=self._file, dynamic_ncols=True, **kw)

    def _close_status(self) -> None:
        if self._status is not None:
            self._status.close()
            self._status = None

    def step_started(self, step: str) -> None:
        if self._status is None:
            self._status = self._tqdm(
                desc=f"{'overlap':>24}",
                initial=self._steps_done,
                leave=False,
                bar_format="{desc}: {n_fmt} steps done [{elapsed}{postfix}]",
            )
        self._status.set_postfix_str(f"now {step}", refresh=True)

    def step_ended(self, step: str, seconds: float) -> None:
        self._steps_done += 1
        if self._status is not None:
            self._status.update(1)

    def counted(self, key: str, what: str, done: int, total: int, seconds: float) -> None:
        bar = self._bars.get(key)
        if bar is None:
            self._close_status()
            for other in list(self._bars):  # one bar at a time: the previous count is finished
                self.count_closed(other)
            # the average rate since the count began (which can be before its first report)
            bar = self._bars[key] = self._tqdm(
                desc=f"{key:>24}", total=total or None, unit=f" {what}", smoothing=0
            )
            bar.start_t -= seconds
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def count_closed(self, key: str) -> None:
        bar = self._bars.pop(key, None)
        if bar is not None:
            bar.close()

    def close(self) -> None:
        super().close()
        for key in list(self._bars):
            self.count_closed(key)
        self._close_status()


# ------------------------------------------------------------------------------------------ sinks

_attached: list[Progress] = []


@contextmanager
def attach(callback: Progress) -> Iterator[None]:
    """While the block runs, stages that call ``reporter(...)`` also report to ``callback``."""
    _attached.append(callback)
    try:
        yield
    finally:
        _attached.remove(callback)


def reporter(*callbacks: Progress | None) -> Progress:
    """One callback reporting to ``callbacks`` and to every callback attached with ``attach``."""
    targets = [c for c in callbacks if c is not None] + list(_attached)

    def progress(step: str, done: int, total: int) -> None:
        for target in targets:
            target(step, done, total)

    return progress
