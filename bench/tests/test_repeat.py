"""The figures of `make bench --repeat N` (bench/run.py): rows of several runs brought
to one median row with its spread, the verdict judged on that median row, the CPU
targets, the CPU steal worked out from two samples of /proc/stat, and the machine's
warnings. Pure functions on real rows (bench/loadgen.PhaseResult): no servers, no
database. Run with `.venv/bin/python -m pytest bench/tests`."""

from __future__ import annotations

import pytest

from bench.loadgen import PhaseResult
from bench.run import (
    CpuMeter,
    Row,
    cpu_times,
    cpu_verdicts,
    judge,
    machine_state,
    machine_summary,
    runs_table,
    steal_percent,
    summarize,
    table,
)


def phase(
    latencies: list[float], seconds: float = 10, errors: int = 0, cpu: dict | None = None
) -> PhaseResult:
    result = PhaseResult("w", 1, seconds, latencies_ms=list(latencies), errors=errors)
    result.total = len(latencies)
    if cpu is not None:
        result.extra["cpu_ms"] = cpu
    return result


def cpu(gunicorn: float, worker: float, postgres: float, loadgen: float = 1.0) -> dict:
    """As CpuMeter.per_tx gives it."""
    return {
        "gunicorn": gunicorn,
        "worker": worker,
        "postgres": postgres,
        "loadgen": loadgen,
        "server": gunicorn + worker + postgres,
    }


def row(workload: str, clients: int | str, run: int, result: PhaseResult, **kw: object) -> Row:
    out = Row(workload, clients, result, **kw)
    out.run = run
    return out


def three_runs(p99s: list[float], **kw: object) -> list[list[Row]]:
    """W2 at 1 client, three runs: 50 requests each whose slowest is the run's p99."""
    return [
        [row("W2 queue page", 1, k, phase([10.0] * 49 + [p99]), queries=9, **kw)]
        for k, p99 in enumerate(p99s, 1)
    ]


# --- medians and spreads -------------------------------------------------------------


def test_rows_of_the_runs_become_one_row_with_median_and_range() -> None:
    runs = [
        [
            row("W0 ceiling", 8, k, phase([2.0] * n, seconds=1, cpu=cpu(g, 0, 0))),
            row("W2 queue page", 1, k, phase([float(p)] * 10, cpu=cpu(g * 4, 0.5, 3))),
            row("W2 queue page", 4, k, phase([float(p) * 2] * 10)),
        ]
        for k, n, g, p in ((1, 300, 1.0, 30), (2, 100, 3.0, 50), (3, 200, 2.0, 40))
    ]

    summaries = summarize(runs)

    assert [(s.workload, s.clients) for s in summaries] == [
        ("W0 ceiling", 8),
        ("W2 queue page", 1),
        ("W2 queue page", 4),
    ]
    w0, w2, w2_4 = summaries
    assert [r.run for r in w0.rows] == [1, 2, 3]
    assert w0.median("rate") == 200
    assert w0.spread("rate") == (100, 300)
    assert w0.cell("rate") == "200.0 (100.0–300.0)"
    assert w0.median("gunicorn") == 2.0
    assert w2.median("p99") == 40
    assert w2.spread("p99") == (30, 50)
    assert w2.median("server") == pytest.approx(8 + 0.5 + 3)
    assert w2.cell("worker") == "0.5"  # the same in every run: no range
    assert w2_4.median("p50") == 80
    assert w2_4.values("server") == []  # no CPU read for it
    assert w2_4.cell("server") == "-"


def test_errors_are_added_up_and_a_skipped_run_has_no_figures() -> None:
    runs = [
        [row("W3 ticket page", 1, 1, phase([20.0] * 10, errors=2))],
        [Row("W3 ticket page", 1, note="skipped: /work/tickets/PD-1/ answers 500")],
        [row("W3 ticket page", 1, 3, phase([30.0] * 10, errors=1))],
    ]

    (s,) = summarize(runs)

    assert s.errors() == 3
    assert s.values("p99") == [20.0, 30.0]
    assert s.median("p99") == 25.0
    assert judge(s, [s]) == ("p99 < 50, <= 15 q", "FAIL (errors) (2 of 3 runs)")


def test_rows_read_from_the_database_take_the_median_of_each_run() -> None:
    runs = [
        [Row("W5 fan-out 1000 tickets", "-", p50=p50, p99=p99, count=3, passed=True)]
        for p50, p99 in ((900, 1200), (700, 800), (1100, 1300))
    ]

    (s,) = summarize(runs)

    assert s.median("p50") == 900
    assert s.median("p99") == 1200
    assert s.spread("p99") == (800, 1300)
    assert s.values("rate") == []


# --- the verdict on the median row ---------------------------------------------------


def test_a_latency_target_is_judged_on_the_median_not_on_each_run() -> None:
    (met,) = summarize(three_runs([50, 70, 55]))  # run 2 missed 60 ms on its own
    (missed,) = summarize(three_runs([70, 55, 65]))

    assert met.rows[1].verdict() == "MISSED"
    assert judge(met, [met]) == ("p99 < 60, <= 12 q", "ok")
    assert judge(missed, [missed]) == ("p99 < 60, <= 12 q", "MISSED")


def test_the_query_limit_still_counts() -> None:
    runs = three_runs([20, 20, 20])
    for rows in runs:
        rows[0].queries = 13

    (s,) = summarize(runs)

    assert judge(s, [s])[1] == "MISSED"


def test_a_rate_target_and_a_target_relative_to_w1() -> None:
    def runs(w1_counts: list[int], w5_counts: list[int]) -> list[list[Row]]:
        return [
            [
                row("W1 file a ticket", 8, k, phase([30.0] * w1, seconds=1)),
                row("W5 outage burst", 8, k, phase([30.0] * w5, seconds=1)),
            ]
            for k, (w1, w5) in enumerate(zip(w1_counts, w5_counts, strict=True), 1)
        ]

    w1, w5 = summarize(runs([110, 90, 120], [100, 99, 60]))
    assert judge(w1, [w1, w5]) == ("tx/s >= 100", "ok")  # median 110
    assert judge(w5, [w1, w5]) == ("tx/s >= 0.9 x W1 (99.0)", "ok")  # 99 against 0.9 x 110

    w1, w5 = summarize(runs([110, 90, 120], [98, 99, 60]))
    assert judge(w5, [w1, w5])[1] == "MISSED"  # 98

    (w5_alone,) = summarize([[row("W5 outage burst", 8, 1, phase([30.0] * 5))]])
    assert judge(w5_alone, [w5_alone]) == ("tx/s >= 0.9 x W1", "n/a")


def test_a_failed_check_in_any_run_fails_the_row() -> None:
    runs = [
        [row("W1 file a ticket", 8, k, phase([30.0] * 200, seconds=1), note=note)]
        for k, note in enumerate(["verified: 200 in DB", "CHECK: 199 in DB", "verified: 200"], 1)
    ]

    (s,) = summarize(runs)

    assert judge(s, [s])[1] == "FAIL (check, run 2)"


def test_a_target_the_workload_judges_itself_must_hold_in_every_run() -> None:
    runs = [
        [
            Row(
                "W5 fan-out 1000 tickets",
                "-",
                p50=900,
                p99=1200,
                target_text="< 10000 ms (all runs), fixed q",
                passed=passed,
                run=k,
            )
        ]
        for k, passed in enumerate([True, False, True], 1)
    ]

    (s,) = summarize(runs)

    assert judge(s, [s]) == ("< 10000 ms (all runs), fixed q", "MISSED (run 2)")


def test_the_table_shows_medians_and_ranges() -> None:
    summaries = summarize(three_runs([50, 70, 55]))

    text = table(summaries)

    assert "| W2 queue page | 1 | 50 | 0 | 5.0 | 10.0 | 55.0 (50.0–70.0) |" in text
    assert text.splitlines()[-1].endswith("| p99 < 60, <= 12 q | ok |")
    assert len(runs_table(summaries).splitlines()) == 2 + 3  # head, rule, a line per run


# --- CPU ----------------------------------------------------------------------------


def test_cpu_per_transaction_by_group_and_the_server_sum() -> None:
    before = {"gunicorn": {10: 1.0, 11: 2.0}, "celery": {20: 5.0}, "postgres": {30: 1.0}}
    after = {
        "gunicorn": {10: 1.5, 11: 2.5, 12: 0.2},  # a worker started in between: all of it
        "celery": {20: 5.1},
        "postgres": {30: 1.3},
        "loadgen": {40: 0.4},
    }

    spent = CpuMeter.per_tx(before, after, 100)

    assert spent["gunicorn"] == pytest.approx(12.0)
    assert spent["worker"] == pytest.approx(1.0)
    assert spent["postgres"] == pytest.approx(3.0)
    assert spent["loadgen"] == pytest.approx(4.0)
    assert spent["server"] == pytest.approx(16.0)
    assert CpuMeter.per_tx(before, after, 0) == {}


def test_cpu_targets_on_the_median_of_server_cpu() -> None:
    runs = [
        [
            row("W0 logged-in page", 8, k, phase([2.0] * 10, cpu=cpu(g, 0.0, 0.4))),
            row("W2 queue page", 1, k, phase([20.0] * 10, cpu=cpu(15, 0.0, g * 4))),
            row("W2 queue page", 4, k, phase([40.0] * 10, cpu=cpu(40, 0.0, 9))),
        ]
        for k, g in enumerate([1.4, 2.5, 1.5], 1)
    ]

    verdicts = cpu_verdicts(summarize(runs))

    assert [(s.workload, s.clients, limit, v) for s, limit, v in verdicts] == [
        ("W0 logged-in page", 8, 2, "ok"),  # 1.5 + 0.4
        ("W2 queue page", 1, 20, "MISSED"),  # 15 + 6, the 4-client row not judged
    ]


# --- the machine --------------------------------------------------------------------

STAT_BEFORE = """cpu  1000 10 500 8000 100 0 50 40 0 0
cpu0 500 5 250 4000 50 0 25 20 0 0
intr 12345
"""
STAT_AFTER = """cpu  1600 10 700 9000 100 0 50 140 300 0
cpu0 800 5 350 4500 50 0 25 70 150 0
intr 23456
"""


def test_steal_is_its_share_of_the_cpu_line_deltas() -> None:
    before, after = cpu_times(STAT_BEFORE), cpu_times(STAT_AFTER)

    assert before[:8] == [1000, 10, 500, 8000, 100, 0, 50, 40]
    # user +600, system +200, idle +1000, steal +100: 100 of 1,900 (guest is inside user)
    assert steal_percent(before, after) == pytest.approx(100 * 100 / 1900)
    assert steal_percent(before, before) is None
    with pytest.raises(ValueError, match="cpu"):
        cpu_times("intr 1\n")


def test_steal_from_this_machine() -> None:
    from pathlib import Path

    sample = cpu_times(Path("/proc/stat").read_text())

    assert len(sample) >= 8
    assert steal_percent(sample, sample) is None


def test_the_machine_section_and_its_warnings() -> None:
    quiet = (0.5, cpu_times(STAT_BEFORE))
    stolen = (1.0, cpu_times(STAT_AFTER))
    samples = [
        machine_state(1, "W0", quiet, quiet),  # no time passed: no steal figure
        machine_state(1, "W2", quiet, stolen),  # 5.3 % stolen
        machine_state(2, "W0", (4.5, cpu_times(STAT_BEFORE)), (3.0, cpu_times(STAT_AFTER))),
    ]
    runs = [[row("W0 ceiling", 8, k, phase([1.0] * n, seconds=1))] for k, n in ((1, 400), (2, 300))]

    machine = machine_summary(samples, summarize(runs), cores=2)

    assert (machine["load_min"], machine["load_max"]) == (0.5, 4.5)
    assert machine["steal_max"] == pytest.approx(100 * 100 / 1900)
    assert machine["w0_rate_per_run"] == {"W0 ceiling (8)": {1: 400.0, 2: 300.0}}
    warnings = machine["warnings"]
    assert len(warnings) == 2
    assert "steal above 5 % during 2 of 3 workloads (max 5.3 %, W2 of run 1)" in warnings[0]
    assert "load average above 2 x 2 CPUs at the start of 1 of 3 workloads" in warnings[1]
    assert "(max 4.50, W0 of run 2)" in warnings[1]
    assert machine_summary(samples[:1], [], cores=2)["warnings"] == []
