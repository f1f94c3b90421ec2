"""stylegan-scalable codec plumbing with a tiny random model: three real layers, k-layer decoding, swap."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina.bitstream import Bitstream
from lamina.codecs.stylegan_scalable.codec import StyleganScalable
from lamina.codecs.stylegan_scalable.model import ScalableModel, load_model, save_model
from lamina.errors import BitstreamError, InputError


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    model = ScalableModel(size=64, dim=16, groups=(4, 3, 3), n_mlp=2, channels={4: 8, 8: 8, 16: 8, 32: 4, 64: 4},
                          width=4)
    with torch.no_grad():  # styles of a few units so that layers carry bits
        model.encoder.styles.apply(lambda m: m.weight.mul_(4) if isinstance(m, torch.nn.Conv2d) else None)
        model.w_avg.copy_(model.generator.mean_latent(64))
    path = tmp_path_factory.mktemp("zoo") / "stylegan-scalable-q1.pt"
    save_model(model, path)
    return path


@pytest.fixture(scope="module")
def codec(weights):
    # video in the first frame's framing: these clips alternate faces (test_reframe.py covers --reframe)
    return StyleganScalable(quality=1, weights=weights, reframe="off")


def test_three_layers_decode_progressively(codec, face):
    stream = codec.encode(face)
    assert stream.declared_layers == ("basic", "middle", "enhanced")
    data = stream.to_bytes()
    images = [codec.decode(data, layers=k) for k in (1, 2, 3)]
    assert all(im.shape == face.shape for im in images)
    assert np.array_equal(codec.decode(Bitstream.parse(data).truncate(1).to_bytes()), images[0])
    assert not np.array_equal(images[0], images[2])
    # Layer k's payload is needed only from layer k on: the first k payloads decode the first k layers.
    assert np.array_equal(codec.decode(Bitstream.parse(data).truncate(2).to_bytes()), images[1])


def test_weights_round_trip_and_bad_files(weights, tmp_path):
    model, model_id = load_model(weights)
    assert len(model_id) == 8 and model.generator.n_latent == 10
    bad = tmp_path / "bad.pt"
    torch.save({"format": "something else"}, bad)
    with pytest.raises(InputError):
        load_model(bad)
    with pytest.raises(InputError):
        ScalableModel(size=64, dim=8, groups=(4, 4, 4), n_mlp=1, channels={4: 4, 8: 4, 16: 4, 32: 4, 64: 4}, width=4)


def test_style_step_scales_symbols_not_images(tmp_path, face):
    """style_step divides the encoder's styles into symbols and multiplies them back for the generator: the
    same network with a finer step sends more symbols, and the step survives save/load."""
    from lamina.codecs.stylegan_scalable.encoder import layered_w_plus
    torch.manual_seed(0)
    kwargs = dict(size=64, dim=16, groups=(4, 3, 3), n_mlp=2, channels={4: 8, 8: 8, 16: 8, 32: 4, 64: 4}, width=4)
    coarse, fine = ScalableModel(**kwargs), ScalableModel(style_step=0.25, encoder_gain=2.0, **kwargs)
    fine.load_state_dict(coarse.state_dict())
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(fine.encode(x), coarse.encode(x) * 8)
        w = fine.w_plus(fine.encode(x), 3)  # the generator sees gain x the encoder's output
        assert torch.allclose(w, layered_w_plus(2 * coarse.encoder(x), coarse.w_avg, coarse.groups, 3), atol=1e-5)
    save_model(fine, tmp_path / "fine.pt")
    loaded, _ = load_model(tmp_path / "fine.pt")
    assert (loaded.style_step, loaded.encoder_gain) == (0.25, 2.0) and loaded.config["encoder_gain"] == 2.0


def test_swap_takes_the_middle_layer_from_the_second_stream(codec, utk_faces):
    a, b = codec.encode(utk_faces[0]), codec.encode(utk_faces[1])
    swapped = codec.swap(a.to_bytes(), b.to_bytes())
    entropy = codec.model.entropy
    styles = [entropy.decompress([l.payload for l in s.layers]) for s in (a, b, swapped)]
    assert torch.equal(styles[2][:, :4], styles[0][:, :4]) and torch.equal(styles[2][:, 7:], styles[0][:, 7:])
    assert torch.equal(styles[2][:, 4:7], styles[1][:, 4:7])
    assert codec.decode(swapped.to_bytes()).shape == utk_faces[0].shape
    with pytest.raises(BitstreamError, match="holds 1 of 3"):
        codec.swap(a.truncate(1), b)
    foreign = Bitstream(a.codec, a.height, a.width, b.layers, model_id=b"\x02" * 8, codec_header=b.codec_header)
    with pytest.raises(BitstreamError, match="model id mismatch"):
        codec.swap(a, foreign)


def test_cli_swap(weights, utk_faces, tmp_path, monkeypatch, capsys):
    from PIL import Image

    from lamina.cli import main
    from lamina import zoo
    monkeypatch.setattr(zoo, "ROOT", weights.parent)
    paths = []
    for i in range(2):
        Image.fromarray(utk_faces[i]).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.lmn"))
        assert main(["encode", str(tmp_path / f"{i}.png"), "-o", paths[-1], "--codec", "stylegan-scalable"]) == 0
    out = tmp_path / "swap.lmn"
    assert main(["swap", paths[0], paths[1], "-o", str(out)]) == 0
    assert main(["decode", str(out), "-o", str(tmp_path / "swap.png")]) == 0
    assert main(["encode", str(tmp_path / "0.png"), "-o", str(tmp_path / "j.lmn"), "--codec", "jpeg"]) == 0
    capsys.readouterr()
    assert main(["swap", paths[0], str(tmp_path / "j.lmn"), "-o", str(tmp_path / "bad.lmn")]) == 2
    assert "swap" in capsys.readouterr().err and not (tmp_path / "bad.lmn").exists()
    assert main(["swap", str(tmp_path / "j.lmn"), paths[0], "-o", str(tmp_path / "bad.lmn")]) == 2


def test_video_key_frames_carry_all_layers(codec, utk_faces):
    from lamina.codecs.stylegan_scalable.video import video_header
    frames = [utk_faces[i % 4] for i in range(5)]
    stream = codec.encode_video(frames, 25.0, keyframe_interval=2)
    assert stream.kind == 1 and video_header(Bitstream.parse(stream.to_bytes())) == (5, 2, 25.0, None, False, False)
    full = codec.decode_video(stream.to_bytes())
    basic = codec.decode_video(stream.truncate(1).to_bytes())
    assert len(full) == len(basic) == 5 and full[0].shape == frames[0].shape
    # A key frame decodes exactly as the same frame coded as an image.
    assert np.array_equal(full[2], codec.decode(codec.encode(frames[2]).to_bytes()))
    assert np.array_equal(basic[2], codec.decode(codec.encode(frames[2]).to_bytes(), layers=1))
    # A non-key frame borrows its key frame's middle and enhanced styles.
    entropy = codec.model.entropy
    own = entropy.decompress(codec.model.entropy.compress(codec.model.encode(codec.model_input(frames[3])), 1))
    key = entropy.decompress(entropy.compress(codec.model.encode(codec.model_input(frames[2]))))
    w = codec.model.w_plus(torch.cat([own, key[:, 4:]], 1), 3)
    with torch.no_grad():
        x = codec.model.generator(w)
    expected = torch.nn.functional.interpolate(x, size=frames[3].shape[:2], mode="bilinear", align_corners=False,
                                               antialias=True)
    expected = ((expected[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    assert np.array_equal(full[3], expected)
    with pytest.raises(BitstreamError, match="video stream"):
        codec.decode(stream.to_bytes())
    with pytest.raises(InputError, match="variable frame sizes"):
        codec.encode_video([frames[0], frames[0][:100]], 25.0, 2)


def test_cli_video_round_trip(weights, utk_faces, tmp_path, monkeypatch, capsys):
    from lamina.cli import main
    from lamina import zoo
    from lamina.video import read_video, write_video
    monkeypatch.setattr(zoo, "ROOT", weights.parent)
    clip = tmp_path / "clip.mp4"
    write_video(clip, [utk_faces[i % 2] for i in range(4)], 25.0)
    lmn, out = tmp_path / "clip.lmn", tmp_path / "out.mp4"
    assert main(["encode", str(clip), "-o", str(lmn), "--codec", "stylegan-scalable", "--keyframe-interval", "2"]) == 0
    assert main(["decode", str(lmn), "-o", str(out)]) == 0
    frames, fps = read_video(out)
    assert len(frames) == 4 and frames[0].shape == (200, 200, 3) and fps == 25.0
    capsys.readouterr()
    assert main(["info", str(lmn)]) == 0
    info = capsys.readouterr().out
    total = lmn.stat().st_size
    assert "frames:    4 at 25 fps (0.16 s); keyframe interval 2" in info
    assert f"({total / 4:.1f} bytes per frame, {8 * total / 0.16 / 1000:.2f} kbit/s" in info and "kbit/s" in info
    assert main(["decode", str(lmn), "-o", str(tmp_path / "out.png")]) == 2
    assert main(["encode", str(clip), "-o", str(tmp_path / "j.lmn"), "--codec", "jpeg"]) == 2
    assert main(["encode", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "m.lmn"),
                 "--codec", "stylegan-scalable"]) == 2


def test_refuses_images_without_a_framed_face(codec, face, data_root):
    from lamina.data.datasets import load_dataset
    from lamina.errors import NoFaceError
    house = load_dataset("kodak", root=data_root, limit=1)[0].image()  # kodim01: a house front
    with pytest.raises(NoFaceError, match="no face found|not in the shared framing"):
        codec.encode(house)
    corner = np.full((400, 400, 3), 128, np.uint8)
    corner[:200, :200] = face  # a face, but a quarter of the frame, off centre: not aligned
    with pytest.raises(NoFaceError, match="not in the shared framing.*lamina align"):
        codec.encode(corner)
    with pytest.raises(NoFaceError):
        codec.encode_video([house, house], 25.0, 1)


def test_cli_refuses_a_non_face_with_exit_2(weights, data_root, tmp_path, monkeypatch, capsys):
    from PIL import Image

    from lamina.cli import main
    from lamina import zoo
    from lamina.data.datasets import load_dataset
    monkeypatch.setattr(zoo, "ROOT", weights.parent)
    Image.fromarray(load_dataset("kodak", root=data_root, limit=1)[0].image()).save(tmp_path / "house.png")
    out = tmp_path / "house.lmn"
    assert main(["encode", str(tmp_path / "house.png"), "-o", str(out), "--codec", "stylegan-scalable"]) == 2
    assert "lamina align" in capsys.readouterr().err and not out.exists()
