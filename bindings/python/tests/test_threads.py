"""Jobs run without the GIL, report progress, and Ctrl-C interrupts the wait at once."""

import signal
import sys
import threading
import time

import pyarrow.parquet as pq
import pytest

import khop


def test_other_python_threads_run_during_a_job(population):
    done = threading.Event()
    results = []

    def job():
        results.append(khop.link(population / "bhxh.parquet", population / "national.parquet"))
        done.set()

    worker = threading.Thread(target=job)
    worker.start()
    spins = 0
    while not done.is_set():
        spins += 1
        time.sleep(0.001)
    worker.join()
    assert results and len(results[0].links) > 0
    # A job holding the GIL would leave this thread a handful of turns at most.
    assert spins >= 20, spins


def test_progress_reaches_every_stage(population):
    events = []
    khop.link(population / "bhxh.parquet", population / "national.parquet", progress=lambda *e: events.append(e))
    stages = [stage for stage, _, _ in events]
    assert stages[0] == "read bhxh"
    for stage in ["read national", "train", "score"]:
        assert stage in stages
    national_rows = pq.read_metadata(population / "national.parquet").num_rows
    reads = [(position, total) for stage, position, total in events if stage == "read national"]
    assert reads[-1] == (national_rows, national_rows)
    assert [p for p, _ in reads] == sorted(p for p, _ in reads)


def test_a_failing_progress_callable_does_not_stop_the_job(population, monkeypatch):
    calls = []
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: reported.append(unraisable.exc_value))

    def broken(*event):
        calls.append(event)
        raise RuntimeError("a broken progress bar")

    result = khop.link(population / "bhxh.parquet", population / "national.parquet", progress=broken)
    assert len(calls) == 1
    assert [str(e) for e in reported] == ["a broken progress bar"]
    assert len(result.links) > 0


def test_ctrl_c_interrupts_the_wait(population):
    # A shell without job control starts background commands with SIGINT ignored, and Python then
    # installs no handler for it: Ctrl-C is Python's KeyboardInterrupt only where the handler is.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ctrl_c_interrupts_the_wait(population)
    finally:
        signal.signal(signal.SIGINT, previous)


def ctrl_c_interrupts_the_wait(population):
    events = []
    signalled = []

    def progress(stage, position, total):
        events.append(stage)
        if stage == "train" and not signalled:
            signalled.append(time.monotonic())
            signal.raise_signal(signal.SIGINT)
            # The job stays here a second: the wait must not.
            time.sleep(1.0)

    with pytest.raises(KeyboardInterrupt):
        khop.link(population / "bhxh.parquet", population / "national.parquet", progress=progress)
    waited = time.monotonic() - signalled[0]
    assert waited < 0.8, waited
    assert "score" not in events
