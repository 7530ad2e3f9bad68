"""Grad mode is per thread and per asyncio task, as PyTorch's is.

With one module-wide flag, a thread that ran while another was inside ``no_grad`` recorded
nothing (its ``backward()`` gave zero gradients), and two overlapping ``no_grad`` blocks on two
threads that exited in the other order left recording off for the whole process.
"""

from __future__ import annotations

import asyncio
import threading

from autograd import Value, is_grad_enabled, no_grad


def test_a_thread_records_while_another_is_inside_no_grad() -> None:
    inside, done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def evaluating() -> None:
        with no_grad():
            inside.set()
            done.wait(timeout=10)
            seen.append(is_grad_enabled())

    other = threading.Thread(target=evaluating)
    other.start()
    assert inside.wait(timeout=10)
    x = Value(3.0)
    y = x * x  # recorded here although the other thread is inside no_grad
    y.backward()
    done.set()
    other.join()
    assert x.grad == 6.0
    assert seen == [False]  # and the other thread's block held for that thread


def overlap_once() -> None:
    """first enters no_grad, second enters, first leaves, then second leaves."""
    first_in, second_in, first_out = (threading.Event() for _ in range(3))

    def first() -> None:
        with no_grad():
            first_in.set()
            second_in.wait(timeout=10)
        first_out.set()

    def second() -> None:
        first_in.wait(timeout=10)
        with no_grad():
            second_in.set()
            first_out.wait(timeout=10)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert first_out.is_set()


def test_overlapping_blocks_that_exit_in_the_other_order_leave_recording_on() -> None:
    # with one shared flag the second block would restore "off", what it saw when it entered,
    # for the whole process
    for _ in range(200):
        overlap_once()
        assert is_grad_enabled()
        assert not (Value(1.0) * Value(2.0)).is_leaf


def test_each_asyncio_task_has_its_own_grad_mode() -> None:
    async def evaluating(entered: asyncio.Event, release: asyncio.Event) -> bool:
        with no_grad():
            entered.set()
            await release.wait()
            return is_grad_enabled()

    async def training(entered: asyncio.Event, release: asyncio.Event) -> float:
        await entered.wait()
        x = Value(2.0)
        (x * x * x).backward()  # while the other task is suspended inside no_grad
        release.set()
        return x.grad

    async def main() -> tuple[bool, float]:
        entered, release = asyncio.Event(), asyncio.Event()
        off, grad = await asyncio.gather(evaluating(entered, release), training(entered, release))
        return off, grad

    assert asyncio.run(main()) == (False, 12.0)
    assert is_grad_enabled()


def test_threads_training_side_by_side_get_their_own_gradients() -> None:
    results: dict[int, float] = {}

    def train(k: int) -> None:
        w = Value(float(k))
        for _ in range(300):
            with no_grad():  # as an evaluation step between updates would
                _ = w * 2.0
            w.grad = 0.0
            loss = (w - 1.0) * (w - 1.0)
            loss.backward()
            with no_grad():
                w.data -= 0.1 * w.grad
        results[k] = w.data

    threads = [threading.Thread(target=train, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(abs(w - 1.0) < 1e-6 for w in results.values()), results
    assert is_grad_enabled()
