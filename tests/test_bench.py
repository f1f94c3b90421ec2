"""The benchmark: rows, resumability, summary, BD tables, plots and report."""
import json

import pytest

from lamina.bench.runner import BenchConfig, read_rows, run_bench
from lamina.errors import InputError


def test_bench_writes_everything_and_resumes(tmp_path, data_root):
    config = BenchConfig(dataset="landmarks-helen-test", codecs=["jpeg", "webp"], out=tmp_path,
                         metrics=["psnr", "landmarks_dlib"], limit=2, data_root=str(data_root), anchors=["jpeg", "webp"],
                         progress=False)
    run_bench(config)
    rows = read_rows(tmp_path / "results.jsonl")
    assert len(rows) == 2 * (5 + 5)
    row = rows[0]
    assert row["bpp"] == pytest.approx(8 * row["bytes"] / (row["width"] * row["height"]))
    assert row["nme_dlib_gt"] is not None and row["nme_dlib_gt"] > 0
    for name in ("summary.csv", "report.md", "bd_rates.json", "config.json", "plots/psnr.png",
                 "plots/nme_dlib_gt.png"):
        assert (tmp_path / name).exists(), name
    bd = json.loads((tmp_path / "bd_rates.json").read_text())
    assert bd["anchors"] == ["jpeg", "webp"]
    assert bd["bd_rate_percent"]["jpeg"]["psnr"]["jpeg"] == pytest.approx(0, abs=1e-9)
    assert bd["bd_rate_percent"]["jpeg"]["psnr"]["webp"] < 0  # WebP beats JPEG on faces at low rates
    assert bd["bd_rate_percent"]["webp"]["psnr"]["jpeg"] > 0
    assert "## BD-rate vs webp" in (tmp_path / "report.md").read_text()
    # resume: nothing recomputed, nothing duplicated; a larger limit adds only the new image's rows
    run_bench(config)
    assert len(read_rows(tmp_path / "results.jsonl")) == len(rows)
    config.limit = 3
    run_bench(config)
    assert len(read_rows(tmp_path / "results.jsonl")) == 3 * 10


def test_bench_rejects_unknown_names(tmp_path, data_root):
    with pytest.raises(InputError, match="unknown dataset"):
        run_bench(BenchConfig(dataset="ffhq", codecs=["jpeg"], out=tmp_path, data_root=str(data_root)))
    with pytest.raises(InputError, match="unknown metrics"):
        run_bench(BenchConfig(dataset="kodak", codecs=["jpeg"], out=tmp_path, metrics=["vmaf"],
                              data_root=str(data_root)))


def test_demo_codes_every_codec(tmp_path):
    from lamina.demo import run_demo
    from lamina.registry import names
    rows = run_demo(tmp_path)
    # Layered codecs show one row per layer ("NAME Lk"); every registered codec appears.
    assert {r["codec"].split(" L")[0] for r in rows} == set(names())
    assert (tmp_path / "side_by_side.png").exists() and (tmp_path / "results.md").exists()
    assert all(r["bytes"] > 0 and r["psnr"] > 10 for r in rows)
    by_label = {r["codec"]: r for r in rows}
    base, full = by_label["feature-texture L1"], by_label["feature-texture L2"]
    assert base["bytes"] < full["bytes"] and base["psnr"] < full["psnr"]
    # stylegan-scalable's three layers: each prefix is a longer stream.
    sizes = [by_label[f"stylegan-scalable L{k}"]["bytes"] for k in (1, 2, 3)]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3


def test_bench_records_refused_images_apart(tmp_path, data_root, monkeypatch):
    """A face codec that refuses an image (NoFaceError) gets no rows for it: the image is listed in
    refused.jsonl and the report, and the codec's means are over the other images."""
    from lamina import registry
    from lamina.codecs.classic import JPEG
    from lamina.errors import NoFaceError

    class RefusingJPEG(JPEG):
        name, bench_qualities, calls = "refusing-jpeg", (50,), []
        status = "JPEG that refuses its second image"

        def _encode(self, image):
            self.calls.append(1)
            if len(self.calls) == 2:
                raise NoFaceError("no face found: test")
            return super()._encode(image)

    registry.names()
    monkeypatch.setitem(registry._CLASSES, "refusing-jpeg", RefusingJPEG)
    config = BenchConfig(dataset="landmarks-helen-test", codecs=["jpeg", "refusing-jpeg"], out=tmp_path,
                         qualities=[50], metrics=["psnr"], limit=2, data_root=str(data_root), anchors=["jpeg"],
                         progress=False)
    run_bench(config)
    rows = read_rows(tmp_path / "results.jsonl")
    assert sorted(r["codec"] for r in rows) == ["jpeg", "jpeg", "refusing-jpeg"]
    refused = read_rows(tmp_path / "refused.jsonl")
    assert len(refused) == 1 and refused[0]["codec"] == "refusing-jpeg" and "no face" in refused[0]["refused"]
    assert refused[0]["image"] not in {r["image"] for r in rows if r["codec"] == "refusing-jpeg"}
    report = (tmp_path / "report.md").read_text()
    assert "## Refused images" in report
    # the encoder table says what each codec's pictures look like (a learned codec's status line)
    assert "| JPEG that refuses its second image |" in report and "a conventional codec: faithful" in report


def test_bench_on_your_own_folder_or_list_prints_where_the_report_is(tmp_path, face, capsys):
    """--dataset takes a folder of images or a text file listing them (read with lamina's input policy: a grey
    photo is coded as RGB); the CLI prints the report's path and a short table; the report names metrics with
    units and direction, lists every encoder, and says when the BD anchor was not run."""
    import numpy as np
    from PIL import Image

    from lamina.cli import main
    mine = tmp_path / "mine"
    mine.mkdir()
    Image.fromarray(face).save(mine / "a.png")
    Image.fromarray(face[..., 1]).save(mine / "b.png")  # greyscale
    (mine / "notes.txt").write_text("not an image, skipped in a folder")
    out = tmp_path / "bench"
    assert main(["bench", "--dataset", str(mine), "--codecs", "jpeg", "--qualities", "30", "60", "--metrics", "psnr",
                 "--anchor", "vvc", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.md'}" in printed and "PSNR (dB) ↑" in printed
    assert len([line for line in printed.splitlines() if line.startswith("jpeg")]) == 2
    report = (out / "report.md").read_text()
    assert "2 images" in report and "| PSNR (dB) ↑ |" in report and "| jpeg |" in report
    assert "Not computed: the anchor vvc was not run" in report
    listing = tmp_path / "list.txt"
    listing.write_text("# my photos\nmine/a.png\nmine/missing.png\n")
    assert main(["bench", "--dataset", str(listing), "--codecs", "jpeg", "--out", str(tmp_path / "b2")]) == 2
    assert "missing.png" in capsys.readouterr().err
    rgba = np.dstack([face, np.full(face.shape[:2], 0, np.uint8)])
    Image.fromarray(rgba).save(mine / "c.png")  # fully transparent: refused before any work
    assert main(["bench", "--dataset", str(mine), "--codecs", "jpeg", "--out", str(tmp_path / "b3")]) == 2
    assert "transparent" in capsys.readouterr().err and not (tmp_path / "b3" / "results.jsonl").exists()


def _clip_folder(tmp_path, count=2, frames=5):
    """Tiny natural clips: a moving gradient with texture (128x96: codebook-svr's 4x-down LQ frames stay codable)."""
    import numpy as np
    from lamina.video import write_video
    folder = tmp_path / "clips"
    folder.mkdir()
    y, x = np.mgrid[0:96, 0:128]
    for c in range(count):
        clip = [np.stack([(x * 3 + 9 * t + 40 * c) % 256, (y * 5 + 7 * t) % 256, ((x + y) * 2) % 256], -1)
                .astype(np.uint8) for t in range(frames)]
        write_video(folder / f"clip{c}.mp4", clip, 25)
    return folder


def test_video_bench_rows_flicker_report_and_resume(tmp_path):
    import numpy as np
    from lamina.bench.video import VideoBenchConfig, flicker, run_video_bench
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (10, 50, 90)]
    assert flicker(frames, frames) == 0 and flicker(frames, [frames[0]] * 3) == pytest.approx(40)
    config = VideoBenchConfig(dataset=str(_clip_folder(tmp_path)), codecs=["x265:51,40", "vvenc:63", "codebook-svr:1@lq_qp=45"],
                              out=tmp_path / "out", metrics=["psnr"], frames=4, frame_every=2, progress=False)
    run_video_bench(config)
    rows = read_rows(tmp_path / "out" / "results.jsonl")
    assert sorted((r["clip"], r["codec"], r["quality"]) for r in rows) == sorted(
        (f"clip{c}.mp4", n, q) for c in range(2) for n, q in (("x265", 51), ("x265", 40), ("vvenc", 63),
                                                               ("codebook-svr@lq_qp=45", 1)))
    for row in rows:
        assert row["frames"] == 4 and row["per_frame"]["frame"] == [0, 2] and len(row["per_frame"]["psnr"]) == 2
        assert row["kbps"] == pytest.approx(row["bytes"] * 8 / (4 / 25) / 1000)
        assert row["bpp"] == pytest.approx(row["bytes"] * 8 / (4 * 96 * 128)) and row["flicker"] >= 0
    x265 = {r["quality"]: r for r in rows if r["codec"] == "x265" and r["clip"] == "clip0.mp4"}
    assert x265[40]["bytes"] > x265[51]["bytes"] and x265[40]["psnr"] > x265[51]["psnr"]
    for name in ("summary.csv", "report.md", "bd_rates.json", "plots/flicker.png", "frames.png"):
        assert (tmp_path / "out" / name).exists(), name
    assert "# Video benchmark" in (tmp_path / "out" / "report.md").read_text()
    assert json.loads((tmp_path / "out" / "bd_rates.json").read_text())["anchors"] == ["x265", "vvenc"]
    run_video_bench(config)  # resume: nothing recomputed
    assert len(read_rows(tmp_path / "out" / "results.jsonl")) == len(rows)
    assert [r["options"] for r in rows if r["codec"].startswith("codebook")] == [{"lq_qp": 45}] * 2
    with pytest.raises(InputError, match="has no option 'gop'"):
        run_video_bench(VideoBenchConfig(dataset=config.dataset, codecs=["codebook-svr@gop=3"], out=tmp_path / "bad"))
    with pytest.raises(InputError, match="not a video codec"):
        run_video_bench(VideoBenchConfig(dataset=config.dataset, codecs=["jpeg"], out=tmp_path / "bad"))
    with pytest.raises(InputError, match="not a folder of clips"):
        run_video_bench(VideoBenchConfig(dataset="no-such-clips", codecs=["x265"], out=tmp_path / "bad"))


def test_bench_merge_puts_earlier_runs_beside_a_new_one(tmp_path, data_root, capsys):
    from lamina.cli import main
    common = dict(dataset="landmarks-helen-test", metrics=["psnr"], data_root=str(data_root), progress=False)
    run_bench(BenchConfig(codecs=["jpeg"], out=tmp_path / "new", limit=2, **common))
    run_bench(BenchConfig(codecs=["webp", "jpeg"], out=tmp_path / "old", limit=3, **common))
    run_bench(BenchConfig(codecs=["avif"], qualities=[20, 40], out=tmp_path / "older", limit=2, **common))
    assert main(["bench", "merge", str(tmp_path / "merged"), str(tmp_path / "new"), str(tmp_path / "old"),
                 str(tmp_path / "older" / "summary.csv"), "--anchor", "jpeg"]) == 0
    rows = read_rows(tmp_path / "merged" / "results.jsonl")
    assert {r["image"] for r in rows} == {r["image"] for r in read_rows(tmp_path / "new" / "results.jsonl")}
    assert {r["codec"] for r in rows} == {"jpeg", "webp"}  # jpeg from the new run only
    assert len([r for r in rows if r["codec"] == "jpeg"]) == len(read_rows(tmp_path / "new" / "results.jsonl"))
    summary = (tmp_path / "merged" / "summary.csv").read_text()
    assert "avif" in summary and "webp" in summary
    config = json.loads((tmp_path / "merged" / "config.json").read_text())
    assert config["merged_from"][str(tmp_path / "old")] == ["webp"] and config["anchors"] == ["jpeg"]
    assert "avif" in capsys.readouterr().out
    assert main(["bench", "merge", str(tmp_path / "m2"), str(tmp_path / "new"), str(tmp_path / "nothing")]) == 2
    # a ladder: one curve from settings of two codecs, the originals kept
    jq = sorted({r["quality"] for r in rows if r["codec"] == "jpeg"})
    wq = sorted({r["quality"] for r in rows if r["codec"] == "webp"})
    assert main(["bench", "merge", str(tmp_path / "m3"), str(tmp_path / "new"), str(tmp_path / "old"),
                 "--ladder", "mix", f"jpeg:{jq[0]}", f"webp:{wq[-1]},{wq[0]}"]) == 0
    mixed = [r for r in read_rows(tmp_path / "m3" / "results.jsonl") if r["codec"] == "mix"]
    assert [(r["quality"], r["ladder_of"]) for r in mixed] == (
        [(1, f"jpeg:{jq[0]}")] * 2 + [(2, f"webp:{wq[-1]}")] * 2 + [(3, f"webp:{wq[0]}")] * 2)
    assert "mix" in (tmp_path / "m3" / "summary.csv").read_text()
    assert json.loads((tmp_path / "m3" / "config.json").read_text())["ladders"]["mix"][0] == f"jpeg:{jq[0]}"
    capsys.readouterr()
    assert main(["bench", "merge", str(tmp_path / "m4"), str(tmp_path / "new"), str(tmp_path / "old"),
                 "--ladder", "mix", "jpeg:999"]) == 2
    assert "no rows of jpeg at quality 999" in capsys.readouterr().err


def test_bench_codec_specs_pick_settings_and_options(tmp_path, data_root):
    config = BenchConfig(dataset="landmarks-helen-test", codecs=["codebook-svr:1", "codebook-svr:1@alpha=0", "jpeg:30"],
                         out=tmp_path, metrics=["psnr"], limit=1, data_root=str(data_root), progress=False)
    run_bench(config)
    rows = {(r["codec"], r["layer"]): r for r in read_rows(tmp_path / "results.jsonl")}
    assert sorted(rows) == [("codebook-svr", 1), ("codebook-svr", 2), ("codebook-svr@alpha=0", 1),
                            ("codebook-svr@alpha=0", 2), ("jpeg", 1)]
    assert rows[("jpeg", 1)]["quality"] == 30 and rows[("codebook-svr@alpha=0", 2)]["options"] == {"alpha": 0.0}
    full, codebook_only = rows[("codebook-svr", 2)], rows[("codebook-svr@alpha=0", 2)]
    assert full["bytes"] == codebook_only["bytes"] and full["psnr"] != codebook_only["psnr"]
    assert "codebook-svr@alpha=0" in (tmp_path / "summary.csv").read_text()
    with pytest.raises(InputError, match="has no option 'gop'"):
        run_bench(BenchConfig(dataset="landmarks-helen-test", codecs=["codebook-svr@gop=2"], out=tmp_path / "bad",
                              data_root=str(data_root)))
    with pytest.raises(InputError, match="alpha needs a float"):
        run_bench(BenchConfig(dataset="landmarks-helen-test", codecs=["codebook-svr@alpha=x"], out=tmp_path / "bad",
                              data_root=str(data_root)))


def test_bench_on_a_local_two_worker_dask_cluster_gives_the_local_rows(tmp_path, data_root):
    """`--scheduler ADDRESS`: the images run on a Dask distributed cluster (here two local worker processes
    started by the test); the rows equal a local run's, and a stopped run resumes."""
    from distributed import LocalCluster
    timing = {"encode_s", "decode_s"}

    def rows_of(folder):
        return sorted((tuple(sorted((k, v) for k, v in r.items() if k not in timing))
                       for r in read_rows(folder / "results.jsonl")), key=repr)
    common = dict(dataset="landmarks-helen-test", codecs=["jpeg:20,60", "webp:30"], metrics=["psnr", "landmarks_dlib"],
                  data_root=str(data_root), progress=False)
    run_bench(BenchConfig(out=tmp_path / "local", limit=4, **common))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_bench(BenchConfig(out=tmp_path / "dask", limit=2, scheduler=cluster.scheduler_address, **common))
        assert len(read_rows(tmp_path / "dask" / "results.jsonl")) == 2 * 3
        run_bench(BenchConfig(out=tmp_path / "dask", limit=4, scheduler=cluster.scheduler_address, **common))
    assert rows_of(tmp_path / "dask") == rows_of(tmp_path / "local")
    assert (tmp_path / "dask" / "summary.csv").read_text() != ""
    with pytest.raises(InputError, match="no Dask scheduler"):
        run_bench(BenchConfig(out=tmp_path / "none", limit=1, scheduler="tcp://127.0.0.1:9", **common))


def test_bench_batch_codes_images_together_with_the_local_rows(tmp_path, data_root):
    """`--batch N`: N images coded together in one process (threads, lamina.batching); the rows equal one image
    at a time (a generative codec included: its decodes run side by side); bad combinations refused."""
    timing = {"encode_s", "decode_s"}

    def rows_of(folder):
        return sorted((tuple(sorted((k, v) for k, v in r.items() if k not in timing))
                       for r in read_rows(folder / "results.jsonl")), key=repr)
    common = dict(dataset="utk-test", codecs=["jpeg:20", "codebook-svr:1"], metrics=["psnr", "lpips_alex"],
                  data_root=str(data_root), progress=False, limit=3)
    run_bench(BenchConfig(out=tmp_path / "one", **common))
    run_bench(BenchConfig(out=tmp_path / "batch", batch=2, **common))
    assert len(read_rows(tmp_path / "batch" / "results.jsonl")) == 3 * (1 + 2)
    assert rows_of(tmp_path / "batch") == rows_of(tmp_path / "one")
    for bad in (dict(batch=0), dict(batch=2, workers=2)):
        with pytest.raises(InputError, match="--batch"):
            run_bench(BenchConfig(out=tmp_path / "bad", **{**common, **bad}))
    from lamina.cli import main
    assert main(["bench", "--video", "--dataset", "talking-faces", "--codecs", "x265", "--out", str(tmp_path / "v"),
                 "--batch", "2"]) == 2  # clips code their frames in order: refused before any work
    assert not (tmp_path / "v").exists()
