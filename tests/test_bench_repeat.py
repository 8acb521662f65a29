"""bench.repeat: the README's figures are the median of several runs, with their range."""

from __future__ import annotations

import pytest

from bench.repeat import last_json, summarize


def test_median_and_range_of_each_figure_and_the_loads() -> None:
    runs = [{"rate_msg_s": r, "p99_ms": p, "ok": True, "cpus": 2, "load_avg": [load, 0, 0],
             "commit": "abc"} for r, p, load in ((500, 40.0, 0.1), (700, 30.0, 0.2),
                                              (600, 90.0, 0.3))]
    out = summarize("updates", runs)
    assert out["median"] == {"rate_msg_s": 600, "p99_ms": 40.0}   # not booleans, not cpus
    assert out["min"]["p99_ms"] == 30.0 and out["max"]["p99_ms"] == 90.0
    assert out["load_avg"] == [[0.1, 0, 0], [0.2, 0, 0], [0.3, 0, 0]]
    assert out["commits"] == ["abc"]


def test_the_last_json_line_is_the_benchs_figures() -> None:
    assert last_json('seeding…\n{"a": 1}\nnoise\n{"b": 2}\n') == {"b": 2}
    with pytest.raises(ValueError):
        last_json("no figures here")
