"""Batching across images (issue 25): `run_batched(fn, items, batch)` runs `fn` on every item in `batch` worker
threads, and the heavy network calls inside it that are marked `@batchable` (the TAEF2 encoder and decoder: 60-80%
of the generative codecs' time) run once per group of same-shaped inputs from all workers instead of once per item.

How the groups form: each worker that reaches a batchable call (without gradients) leaves its input and waits;
when every live worker is waiting (or has finished its items), the last to arrive concatenates the inputs with
the same function, key and shape along dimension 0, makes one call per group and hands each worker its rows. No
timeouts: a group is complete when no worker can add to it. Everything else (entropy coding, the small networks,
colour conversion) runs in the workers side by side.

Grouping is for devices that gain from a batch (a GPU): by default (`group=None`) the TAEF2 calls are grouped
only off the CPU. On the CPU, where lamina runs one thread per call, a grouped call would run on one core while
the other workers wait, so there the workers only run side by side (several cores in use). `group=True` groups
on the CPU too (tests, measurement): the decoder's ONNX Runtime kernels compute each image of a batch alone
(bitwise equal to one-at-a-time decoding here, AVX-512 and AVX2 paths), while PyTorch's encoder convolutions pick
another algorithm for a batch of small images (~3e-6 apart, enough to move a coded symbol), so the encoder is
never grouped on the CPU. Streams therefore never change on the CPU; tests/test_batching.py checks bytes and
pixels against one-at-a-time coding. On a GPU streams may already differ from the CPU's
(docs/results/speed/README.md).
"""
from __future__ import annotations

import contextvars
import functools
import threading
from contextlib import contextmanager
from typing import Callable, Iterable

__all__ = ["batchable", "run_batched", "solo"]

_local = threading.local()


class _Rendezvous:
    """The meeting point of `live` worker threads: each holds at most one pending call."""

    def __init__(self, workers: int, group: bool | None):
        self.group = group              # True: group on the CPU too (batchable's on_cpu)
        self.cond = threading.Condition()
        self.live = workers
        self.pending: list[tuple] = []  # (function, key, input, slot)
        self.calls = 0                  # batched calls made (for tests and benchmarks)
        self.largest = 0                # most inputs in one call

    def call(self, fn: Callable, key, x):
        slot: dict = {}
        with self.cond:
            self.pending.append((fn, key, x, slot))
            self._flush_if_complete()
            while not slot:
                self.cond.wait()
        if "error" in slot:
            raise slot["error"]
        return slot["out"]

    def leave(self) -> None:
        with self.cond:
            self.live -= 1
            self._flush_if_complete()

    def _flush_if_complete(self) -> None:
        """Run the pending calls once every live worker waits on one (called holding the lock)."""
        if not self.pending or len(self.pending) < self.live:
            return
        import torch
        pending, self.pending = self.pending, []
        groups: dict = {}
        for entry in pending:
            fn, key, x, _ = entry
            groups.setdefault((fn, key, tuple(x.shape[1:]), x.dtype, str(x.device)), []).append(entry)
        for (fn, key, *_), entries in groups.items():
            try:
                with torch.no_grad(), solo():  # a batchable call inside fn runs alone (the others wait on us)
                    out = fn(key, torch.cat([x for _, _, x, _ in entries]))
                self.calls += 1
                self.largest = max(self.largest, len(entries))
                start = 0
                for _, _, x, slot in entries:
                    slot["out"] = out[start:start + len(x)]
                    start += len(x)
            except Exception as exc:  # every worker of the group gets the error, as its own call would have
                for *_, slot in entries:
                    slot["error"] = exc
        self.cond.notify_all()


def batchable(fn: Callable | None = None, *, on_cpu: bool = True):
    """Mark `fn(key, x)` (x: a tensor, images along dimension 0; key: hashable, what else selects the result) as
    batchable: inside `run_batched`'s workers, calls without gradients are grouped across workers by (fn, key,
    x's shape but the first, dtype, device) when x is off the CPU, or on the CPU under `group=True` unless
    `on_cpu` is False (a function whose float results move in a batch there); elsewhere it is a plain call."""
    if fn is None:
        return functools.partial(batchable, on_cpu=on_cpu)

    @functools.wraps(fn)
    def wrapper(key, x):
        import torch
        rendezvous = getattr(_local, "rendezvous", None)
        if rendezvous is None or torch.is_grad_enabled():
            return fn(key, x)
        if x.device.type == "cpu" and not (rendezvous.group and on_cpu):
            return fn(key, x)
        return rendezvous.call(fn, key, x)
    return wrapper


@contextmanager
def solo():
    """Within this block this worker's batchable calls run alone (not grouped). Hold any lock that other workers
    wait for only inside it: a worker waiting in a group while holding such a lock would wait forever."""
    rendezvous = getattr(_local, "rendezvous", None)
    _local.rendezvous = None
    try:
        yield
    finally:
        _local.rendezvous = rendezvous


def run_batched(fn: Callable, items: Iterable, batch: int, group: bool | None = None,
                stats: dict | None = None) -> list:
    """[fn(item) for item in items], run in `batch` worker threads whose batchable calls are grouped (module
    docstring): `group` None groups calls on a GPU only, True on the CPU too (batchable's `on_cpu`), False
    none (the workers only run side by side). `batch` 1 (or one item) runs in this thread, one item at a time.
    The first item's error (in item order) is raised after all workers stop. `stats`, when given, receives the
    number of grouped calls made and the largest group."""
    items = list(items)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        from .errors import InputError
        raise InputError(f"batch must be a whole number >= 1, got {batch!r}")
    if batch == 1 or len(items) <= 1:
        return [fn(item) for item in items]
    workers = min(batch, len(items))
    rendezvous = _Rendezvous(workers, group)
    results: list = [None] * len(items)
    errors: list = [None] * len(items)
    queue = iter(range(len(items)))
    lock = threading.Lock()

    def work() -> None:
        _local.rendezvous = rendezvous if group is not False else None
        try:
            while True:
                with lock:
                    index = next(queue, None)
                if index is None:
                    return
                try:
                    results[index] = fn(items[index])
                except Exception as exc:  # noqa: BLE001 - handed back to the caller below
                    errors[index] = exc
        finally:
            _local.rendezvous = None
            rendezvous.leave()

    # each worker runs in a copy of the caller's context (context variables such as the chosen TAEF2 decoder)
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True)
               for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if stats is not None:
        stats.update(calls=rendezvous.calls, largest=rendezvous.largest)
    for error in errors:
        if error is not None:
            raise error
    return results
