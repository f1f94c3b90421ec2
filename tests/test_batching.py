"""Batching across images (lamina.batching, issue 25): calls grouped across worker threads give every item what a
call of its own gives, groups never mix keys or shapes, errors reach the caller, and the codecs' encode_many /
decode_many return the same bytes and pixels as one call per image."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import lamina
from lamina.batching import batchable, run_batched
from lamina.errors import InputError

SEEN: list[tuple] = []  # (key, rows) of every real call of _scaled


@batchable
def _scaled(key, x):
    SEEN.append((key, len(x)))
    return x * key


@batchable(on_cpu=False)
def _never_on_cpu(key, x):
    SEEN.append(("never", len(x)))
    return x + key


def _work(item):
    key, value = item
    with torch.no_grad():
        first = _scaled(key, torch.full((1, 3), float(value)))
        second = _scaled(key, first + 1)        # a second round: the workers meet again
        return float(second.sum())


def test_grouped_calls_give_each_item_its_own_result():
    items = [(2, v) for v in range(8)]
    SEEN.clear()
    stats = {}
    out = run_batched(_work, items, batch=4, group=True, stats=stats)
    assert out == [_work(item) for item in items]
    assert stats["largest"] == 4 and max(rows for _, rows in SEEN) == 4
    assert stats["calls"] < 2 * len(items)  # fewer calls than one per item and round


def test_groups_never_mix_keys_or_shapes():
    def work(item):
        key, side = item
        with torch.no_grad():
            return _scaled(key, torch.ones(1, side)).shape[1], float(_scaled(key, torch.ones(1, side)).sum())
    items = [(2, 3), (3, 3), (2, 5), (2, 3)]
    SEEN.clear()
    assert run_batched(work, items, batch=4, group=True) == [(3, 6.0), (3, 9.0), (5, 10.0), (3, 6.0)]
    assert sorted(rows for _, rows in SEEN) == [1, 1, 1, 1, 2, 2]  # (2, side 3) grouped; the others alone


def test_cpu_grouping_is_off_by_default_and_never_for_a_cpu_unsafe_function():
    SEEN.clear()
    stats = {}
    run_batched(_work, [(2, v) for v in range(4)], batch=4, stats=stats)
    assert stats["calls"] == 0 and all(rows == 1 for _, rows in SEEN)

    def work(value):
        with torch.no_grad():
            return float(_never_on_cpu(1, torch.full((1, 2), float(value))).sum())
    SEEN.clear()
    assert run_batched(work, range(4), batch=4, group=True) == [2.0, 4.0, 6.0, 8.0]
    assert all(rows == 1 for _, rows in SEEN)


def test_workers_run_in_threads_and_batch_one_in_the_caller():
    names = run_batched(lambda _: threading.current_thread().name, range(4), batch=2)
    assert threading.current_thread().name not in names
    assert run_batched(lambda _: threading.current_thread().name, range(3), batch=1) == \
        [threading.current_thread().name] * 3


def test_errors_reach_the_caller_and_other_workers_finish():
    finished = []

    def work(value):
        with torch.no_grad():
            _scaled(1, torch.ones(1, 2))
        if value in (2, 5):
            raise ValueError(f"item {value}")
        finished.append(value)
        return value
    with pytest.raises(ValueError, match="item 2"):
        run_batched(work, range(8), batch=3, group=True)
    assert sorted(finished) == [0, 1, 3, 4, 6, 7]


@pytest.mark.parametrize("batch", [0, -1, 1.5, "2", True])
def test_bad_batch_sizes_are_refused(batch):
    with pytest.raises(InputError, match="batch"):
        run_batched(lambda x: x, [1, 2], batch=batch)


@pytest.fixture(scope="module")
def photos(data_root):
    from lamina.data.datasets import load_dataset
    items = load_dataset("kodak", root=data_root)
    # three 128 x 96 crops and one 64 x 64: two shapes, so a group holds three latents and one stays alone
    crops = [items[i].image()[200:296, 300:428] for i in (22, 3, 14)] + [items[7].image()[:64, :64]]
    return [np.ascontiguousarray(c) for c in crops]


@pytest.mark.parametrize("name", ["codebook-svr", "progressive-mask"])
def test_codecs_code_many_images_with_the_same_bytes_and_pixels(name, photos):
    codec = lamina.load(name, quality=1)
    streams = [codec.encode(p) for p in photos]
    assert [s.to_bytes() for s in codec.encode_many(photos, batch=4)] == [s.to_bytes() for s in streams]
    stats = {}
    run_batched(codec.decode, streams, 4, group=True, stats=stats)
    assert stats["largest"] == 3  # the three same-sized latents in one decoder call
    for options in ({}, {"decoder": "lite"}):
        one_by_one = [codec.decode(s, **options) for s in streams]
        for grouped in (codec.decode_many(streams, batch=4, group=True, **options),
                        codec.decode_many(streams, batch=2, **options)):
            assert len(grouped) == len(photos)
            for a, b in zip(one_by_one, grouped):
                assert a.shape == b.shape
                # the same pixels here; another CPU's kernels may split a batch otherwise: 1 level allowed
                assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_decode_many_reports_a_bad_stream(photos):
    codec = lamina.load("codebook-svr", quality=1)
    good = codec.encode(photos[0]).to_bytes()
    with pytest.raises(lamina.BitstreamError):
        codec.decode_many([good, good[:20] + bytes(len(good) - 20)], batch=2)


def test_a_worker_holding_a_lock_inside_solo_does_not_block_the_group():
    """The pattern of `lamina bench --batch`: a lock around shared work, batchable calls inside it run alone."""
    from lamina.batching import solo
    lock = threading.Lock()

    def work(value):
        with torch.no_grad():
            with lock, solo():   # e.g. loading a codec whose constructor would render once
                first = _scaled(2, torch.full((1, 2), float(value)))
            return float(_scaled(3, first).sum())
    assert run_batched(work, range(6), batch=3, group=True) == [12.0 * v for v in range(6)]


@batchable
def _outer(key, x):
    return _scaled(key, x) + 1   # a batchable call inside a grouped one


def test_a_batchable_call_inside_a_grouped_call_runs_alone():
    def work(value):
        with torch.no_grad():
            return float(_outer(2, torch.full((1, 1), float(value))).sum())
    assert run_batched(work, range(4), batch=4, group=True) == [2.0 * v + 1 for v in range(4)]
