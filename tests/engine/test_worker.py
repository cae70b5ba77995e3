"""The serial worker: one thread, jobs in order, closed workers hand their thread back."""

from __future__ import annotations

import threading

import pytest

from studio.engine.worker import SerialWorker, WorkerClosed


def test_runs_jobs_in_order_on_one_thread() -> None:
    worker = SerialWorker("test-worker")
    seen: list[tuple[int, int | None]] = []
    futures = [worker.submit(lambda i=i: seen.append((i, threading.get_ident()))) for i in range(5)]
    for fut in futures:
        fut.result(5)
    assert [i for i, _ in seen] == list(range(5))
    assert len({ident for _, ident in seen}) == 1
    assert seen[0][1] == worker.thread.ident != threading.get_ident()
    assert worker.close()


def test_exceptions_reach_the_caller() -> None:
    worker = SerialWorker("test-worker")
    with pytest.raises(ZeroDivisionError):
        worker.call(lambda: 1 / 0)
    assert worker.call(lambda: 42) == 42
    worker.close()


def test_close_cancels_queued_jobs_and_refuses_new_ones() -> None:
    worker = SerialWorker("test-worker")
    gate, started = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait(5)

    running = worker.submit(hold)
    assert started.wait(5)
    queued = worker.submit(lambda: "never")
    closer = threading.Thread(target=worker.close)
    closer.start()
    gate.set()
    closer.join(5)
    assert running.result(5) is True
    assert queued.cancelled()
    with pytest.raises(WorkerClosed):
        worker.submit(lambda: None)


def test_closed_thread_is_reused() -> None:
    first = SerialWorker("test-a")
    thread = first.thread
    first.close()
    second = SerialWorker("test-b")
    try:
        assert second.thread is thread and thread.is_alive()
        assert thread.name == "test-b"
    finally:
        second.close()
