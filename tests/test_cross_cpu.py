"""Streams are portable across CPUs (issue 22): every learned codec (one face; video codecs: a 3-frame clip) is
coded here and in a child process that runs other float kernels (lamina.portability). Both sides write the same
bytes, agree on every integer entropy table, and decode each other's streams within the cross-CPU tolerance."""
from __future__ import annotations

import numpy as np

from lamina.metrics.pixel import cpu_difference

from lamina.portability import make_jobs, other_kernels, run_child


def test_streams_and_decodes_agree_across_float_kernels(utk_faces, tmp_path):
    jobs = make_jobs(utk_faces)
    sent = [{k: job[k] for k in ("codec", "kind", "input", "stream")} for job in jobs]
    there = run_child(sent, tmp_path, other_kernels())
    problems = []
    for job, theirs in zip(jobs, there):
        label = f"{job['codec']} {job['kind']}"
        if theirs["stream"] != job["stream"]:
            problems.append(f"{label}: the other kernels encode different bytes")
        if theirs["tables"] != job["tables"]:
            problems.append(f"{label}: entropy tables differ between kernels")
        assert len(theirs["decoded"]) == len(job["decoded"])
        for k, (a, b) in enumerate(zip(job["decoded"], theirs["decoded"]), 1):
            assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
            problem = cpu_difference(a, b)
            if problem:
                problems.append(f"{label} layers={k}: {problem}")
    assert not problems, problems
