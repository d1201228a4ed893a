"""The memory each stage and overlap step reports: resident size at its end, its own peak, the process peak."""

from __future__ import annotations

import time

import numpy as np

from pipeline.core.overlap.common import Clock, peak_rss_mib, rss_mib


def test_clock_records_each_steps_peak_and_nested_steps_fold_into_the_outer_one():
    clock = Clock(None)
    with clock.step("outer"):
        with clock.step("alloc"):
            block = np.ones(80 * 2**20 // 8)  # 80 MiB, touched
            time.sleep(0.35)  # longer than the sampling interval
            del block
        with clock.step("small"):
            pass
    mem = clock.memory
    assert set(mem) == {"outer", "alloc", "small"}
    for m in mem.values():
        assert set(m) == {"rss_mib", "peak_mib", "process_peak_mib"}
        assert 0 < m["rss_mib"] <= m["peak_mib"] <= m["process_peak_mib"] + 1
    # the 80 MiB block was freed before the step ended, but its peak was seen
    assert mem["alloc"]["peak_mib"] >= mem["alloc"]["rss_mib"] + 60
    assert mem["small"]["peak_mib"] < mem["alloc"]["peak_mib"] - 60
    assert mem["outer"]["peak_mib"] >= mem["alloc"]["peak_mib"]
    assert rss_mib() <= peak_rss_mib() + 1
