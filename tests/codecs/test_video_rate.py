"""Every video codec's --quality (and its documented video options) moves the rate monotonically on a short
talking-face clip (one of latent-flow's training clips, aligned as `lamina bench --video` aligns clips)."""
import pytest

import lamina


@pytest.fixture(scope="module")
def clip(data_root):
    from lamina.video import read_video
    from lamina.vision.align import align_clip
    frames, fps = read_video(data_root / "video" / "lp_d3.mp4", max_frames=4)
    return align_clip(frames, 256), fps


def sizes(name, settings, clip, **options):
    """Stream sizes of the clip at each quality (two qualities at a time in threads: lamina.batching)."""
    from lamina.batching import run_batched
    frames, fps = clip
    return run_batched(lambda q: len(lamina.load(name, quality=q, **options).encode_video(frames, fps).to_bytes()),
                       settings, batch=2)


@pytest.mark.parametrize("name", ["latent-flow", "stylegan-scalable", "codebook-svr"])
def test_quality_raises_the_video_rate(name, clip):
    from lamina.registry import codec_class
    qualities = list(codec_class(name).bench_grid())
    rates = sizes(name, qualities, clip)
    assert rates == sorted(rates) and len(set(rates)) == len(rates), dict(zip(qualities, rates))


def test_codebook_svr_video_options_move_the_rate_the_documented_way(clip):
    frames, fps = clip
    svr = [len(lamina.load("codebook-svr", quality=3, lq_qp=qp).encode_video(frames, fps).to_bytes())
           for qp in (47, 42, 37)]
    assert svr == sorted(svr) and len(set(svr)) == 3
    stable = [len(lamina.load("codebook-svr", quality=6, stable=s).encode_video(frames, fps).to_bytes())
              for s in (0.0, 0.3)]
    assert stable[1] <= stable[0]


@pytest.mark.slow  # five face-codec clip encodes (~30 s); the default suite keeps the quality test above
def test_face_codec_video_options_move_the_rate_the_documented_way(clip):
    frames, fps = clip
    flow = [len(lamina.load("latent-flow", quality=3).encode_video(frames, fps, gop=g).to_bytes()) for g in (4, 2, 1)]
    assert flow == sorted(flow)
    keys = [len(lamina.load("stylegan-scalable", quality=3).encode_video(frames, fps, keyframe_interval=k).to_bytes())
            for k in (4, 2)]
    assert keys[0] < keys[1]
