"""The `lamina` command: round trips, info/truncate, and one-line errors with exit code 2."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lamina.cli import main


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def face_png(tmp_path, face):
    path = tmp_path / "face.png"
    Image.fromarray(face).save(path)
    return path


def test_encode_info_decode_truncate(tmp_path, face_png, capsys):
    stream = tmp_path / "face.lmn"
    code, out, _ = run(["encode", face_png, "-o", stream, "--codec", "webp", "--quality", "30"], capsys)
    assert code == 0 and stream.exists()
    code, out, _ = run(["info", stream], capsys)
    assert code == 0 and "codec:     webp" in out and "image" in out and "bpp" in out
    decoded = tmp_path / "out.png"
    assert run(["decode", stream, "-o", decoded], capsys)[0] == 0
    assert np.asarray(Image.open(decoded)).shape == np.asarray(Image.open(face_png)).shape
    cut = tmp_path / "cut.lmn"
    assert run(["truncate", stream, "--layers", "1", "-o", cut], capsys)[0] == 0
    assert cut.read_bytes() == stream.read_bytes()


def png16_rgb(path, image: np.ndarray) -> None:
    """A 16-bit RGB PNG (Pillow cannot write one; Pillow reads it as 8-bit 'RGB')."""
    import struct
    import zlib
    h, w, _ = image.shape
    raw = b"".join(b"\x00" + (image[y].astype(">u2") * 257).tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bad_inputs(tmp_path, face):
    rgba = tmp_path / "rgba.png"
    alpha = np.full(face.shape[:2] + (1,), 255, np.uint8)
    alpha[0, 0] = 10  # one transparent pixel: no faithful RGB
    Image.fromarray(np.dstack([face, alpha])).save(rgba)
    deep = tmp_path / "deep.png"
    Image.fromarray((face[..., 0].astype(np.uint16) * 257)).save(deep)
    deep_rgb = tmp_path / "deep-rgb.png"
    png16_rgb(deep_rgb, face)
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(face).convert("CMYK").save(cmyk)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    tiny = tmp_path / "tiny.png"
    Image.fromarray(face[:4, :4]).save(tiny)
    return {"missing": tmp_path / "missing.png", "transparent": rgba, "16-bit": deep, "16-bit rgb": deep_rgb,
            "cmyk": cmyk, "text": text, "empty": empty, "tiny": tiny, "directory": tmp_path}


@pytest.mark.parametrize("case", ["missing", "transparent", "16-bit", "16-bit rgb", "cmyk", "text", "empty", "tiny",
                                  "directory"])
def test_bad_images_give_one_line_and_exit_2(case, tmp_path, face, capsys):
    path = bad_inputs(tmp_path, face)[case]
    out = tmp_path / "x.lmn"
    code, _, err = run(["encode", path, "-o", out, "--codec", "jpeg"], capsys)
    assert code == 2
    assert err.startswith("lamina: error:") and err.count("\n") == 1
    assert not out.exists()


def test_grey_palette_and_opaque_rgba_are_coded_as_rgb_with_a_note(tmp_path, face, capsys):
    from lamina.imageio import load_image
    grey = face[..., 0]
    cases = {"grey.png": Image.fromarray(grey), "opaque.png": Image.fromarray(np.dstack([face, np.full(grey.shape, 255,
                                                                                                       np.uint8)])),
             "palette.png": Image.fromarray(face).quantize(64), "grey-alpha.png": Image.fromarray(grey).convert("LA")}
    for name, image in cases.items():
        image.save(tmp_path / name)
        notices = []
        array = load_image(tmp_path / name, notices)
        assert array.shape == face.shape and array.dtype == np.uint8 and len(notices) >= 1
        out = tmp_path / f"{name}.lmn"
        code, _, err = run(["encode", tmp_path / name, "-o", out, "--codec", "webp"], capsys)
        assert code == 0 and out.exists() and err.startswith("lamina: note:")
    assert np.array_equal(load_image(tmp_path / "grey.png"), np.dstack([grey] * 3))  # exact: R = G = B
    assert np.array_equal(load_image(tmp_path / "opaque.png"), face)


def test_huge_image_is_refused(tmp_path, capsys):
    from lamina.imageio import MAX_PIXELS
    big = tmp_path / "big.png"
    side = int(MAX_PIXELS ** 0.5) + 64
    Image.new("RGB", (side, side)).save(big, compress_level=1)
    code, _, err = run(["encode", big, "-o", tmp_path / "x.lmn", "--codec", "jpeg"], capsys)
    assert code == 2 and "above the limit" in err


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d[: len(d) // 2], "truncated"),
    (lambda d: d[:-5] + bytes([d[-5] ^ 0x10]) + d[-4:], "CRC mismatch"),
    (lambda d: b"XXXX" + d[4:], "not a lamina stream"),
    (lambda d: d[:2] + b"\x78" + d[3:], "unknown codec number 120"),
])
def test_bad_streams_give_one_line_and_exit_2(mutate, message, tmp_path, face_png, capsys):
    stream = tmp_path / "s.lmn"
    run(["encode", face_png, "-o", stream, "--codec", "jpeg"], capsys)
    bad = tmp_path / "bad.lmn"
    bad.write_bytes(mutate(stream.read_bytes()))
    out = tmp_path / "out.png"
    code, _, err = run(["decode", bad, "-o", out], capsys)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_unknown_codec_and_bad_quality(tmp_path, face_png, capsys):
    assert run(["encode", face_png, "-o", tmp_path / "x", "--codec", "bpg"], capsys)[0] == 2
    assert run(["encode", face_png, "-o", tmp_path / "x", "--codec", "jpeg", "--quality", "500"], capsys)[0] == 2


def test_truncate_to_more_layers_than_held(tmp_path, face_png, capsys):
    stream = tmp_path / "s.lmn"
    run(["encode", face_png, "-o", stream, "--codec", "jpeg"], capsys)
    code, _, err = run(["truncate", stream, "--layers", "2", "-o", tmp_path / "t.lmn"], capsys)
    assert code == 2 and "cannot keep 2 layers" in err


def test_align_command(tmp_path, capsys, face):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.pad(face, ((80, 80), (80, 80), (0, 0)), mode="edge")).save(photo)
    out = tmp_path / "aligned.png"
    assert run(["align", photo, "-o", out, "--size", "128"], capsys)[0] == 0
    assert Image.open(out).size == (128, 128)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "grey").save(blank)
    code, _, err = run(["align", blank, "-o", tmp_path / "none.png"], capsys)
    assert code == 2 and "no face" in err


def test_encode_align_codes_the_aligned_crop(tmp_path, capsys, face):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.pad(face, ((80, 80), (80, 80), (0, 0)), mode="edge")).save(photo)
    stream = tmp_path / "a.lmn"
    code, out, _ = run(["encode", photo, "-o", stream, "--codec", "webp", "--quality", "30", "--align", "96"], capsys)
    assert code == 0 and "96x96" in out
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "grey").save(blank)
    code, _, err = run(["encode", blank, "-o", tmp_path / "b.lmn", "--codec", "webp", "--align", "96"], capsys)
    assert code == 2 and "no face" in err and not (tmp_path / "b.lmn").exists()


def test_face_codec_refuses_an_unaligned_frame_and_codes_it_with_align(tmp_path, capsys, data_root):
    """A raw head-and-shoulders video frame is not in the face codecs' framing: refused with the fix named;
    --align 256 crops it first and the encode succeeds."""
    from lamina.video import read_video
    photo = tmp_path / "frame.png"
    Image.fromarray(read_video(data_root / "video" / "lp_d0.mp4", max_frames=1)[0][0]).save(photo)
    code, _, err = run(["encode", photo, "-o", tmp_path / "raw.lmn", "--codec", "latent-flow"], capsys)
    assert code == 2 and "framing's size" in err and "--align 256" in err and not (tmp_path / "raw.lmn").exists()
    code, out, _ = run(["encode", photo, "-o", tmp_path / "a.lmn", "--codec", "latent-flow", "--align", "256"], capsys)
    assert code == 0 and "256x256" in out


def test_feature_texture_notes_an_image_outside_the_framing(tmp_path, capsys, face):
    """feature-texture codes any image (its texture layer restores it) but says when its feature layer
    describes no face in the framing; an aligned face gets no note."""
    Image.fromarray(face).save(tmp_path / "face.png")
    Image.fromarray(np.pad(face, ((100, 100), (100, 100), (0, 0)), mode="edge")).save(tmp_path / "far.png")
    assert run(["encode", tmp_path / "face.png", "-o", tmp_path / "a.lmn", "--codec", "feature-texture"], capsys)[1] \
        .count("\n") == 1
    code, out, _ = run(["encode", tmp_path / "far.png", "-o", tmp_path / "b.lmn", "--codec", "feature-texture"], capsys)
    assert code == 0 and "framing's size" in out and "feature layer describes no face" in out


def test_refusal_and_learned_encode_print_no_third_party_noise(tmp_path, face_png):
    """A non-face refusal is one `lamina: error:` line (no TensorFlow Lite / absl lines from MediaPipe), and a
    learned encode prints no PyTorch warning."""
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "grey").save(blank)
    result = subprocess.run([sys.executable, "-m", "lamina.cli", "encode", str(blank), "-o", str(tmp_path / "b.lmn"),
                             "--codec", "stylegan-scalable"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "lamina: error: no face found: this codec codes aligned face crops: encode with --align 256, or crop first "
        "with `lamina align`"]
    for codec in ("mean-scale", "stylegan-scalable"):  # the face check's dlib models import without warnings too
        result = subprocess.run([sys.executable, "-m", "lamina.cli", "encode", str(face_png), "-o",
                                 str(tmp_path / "f.lmn"), "--codec", codec, "--quality", "1"],
                                capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr == "", (codec, result.stderr)


def test_console_script_exit_code(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lamina.cli", "decode", str(tmp_path / "nope.lmn"), "-o",
                             str(tmp_path / "o.png")], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_codecs_lists_the_default_quality_each_codec_uses(capsys):
    """`lamina codecs` names every codec's default quality, and that is the quality `lamina.load(name)` (and
    `lamina encode` without --quality) codes at."""
    import lamina
    from lamina.registry import codec_class, names
    assert main(["codecs"]) == 0
    printed = capsys.readouterr().out
    for name in names():
        default = codec_class(name).default_setting()
        assert default is not None and f"default {default})" in [line for line in printed.splitlines()
                                                                  if line.startswith(name + " ")][0]
        assert lamina.load(name).quality == default, name
    # every learned codec says what its decoded images look like today, on the line after its own
    lines = printed.splitlines()
    for name in names():
        if codec_class(name).learned:
            i = [k for k, line in enumerate(lines) if line.startswith(name + " ")][0]
            assert lines[i + 1].strip().startswith("looks like: "), name


def test_a_closed_pipe_is_not_an_error(tmp_path, face):
    """`lamina info x.lmn | head -1`: the reader leaves early; lamina exits quietly."""
    import subprocess
    import sys
    from lamina import load
    path = tmp_path / "f.lmn"
    path.write_bytes(load("jpeg", quality=50).encode(face).to_bytes())
    # the reader closes its end at once (then lingers), so every write of lamina's meets a closed pipe
    run = subprocess.run(f"{sys.executable} -m lamina.cli info {path} | sh -c 'exec 0<&-; sleep 2'", shell=True,
                         capture_output=True, text=True)
    assert run.stderr == "" and run.stdout == ""


def test_device_option_runs_on_cpu_and_refuses_devices_this_machine_lacks(tmp_path, face_png, capsys):
    import torch
    stream, decoded = tmp_path / "face.lmn", tmp_path / "face.png"
    code, _, _ = run(["encode", face_png, "-o", stream, "--codec", "mean-scale", "--quality", "1",
                      "--device", "cpu"], capsys)
    assert code == 0
    assert run(["decode", stream, "-o", decoded, "--device", "cpu"], capsys)[0] == 0
    code, _, err = run(["encode", face_png, "-o", tmp_path / "x.lmn", "--codec", "jpeg", "--device", "tpu"], capsys)
    assert code == 2 and "unknown device 'tpu'" in err
    if torch.cuda.is_available():  # a GPU machine: the stream encoded on CUDA decodes on the CPU
        assert run(["encode", face_png, "-o", tmp_path / "gpu.lmn", "--codec", "mean-scale", "--quality", "1",
                    "--device", "cuda"], capsys)[0] == 0
        assert run(["decode", tmp_path / "gpu.lmn", "-o", decoded], capsys)[0] == 0
        return
    for args in (["encode", face_png, "-o", tmp_path / "x.lmn", "--codec", "mean-scale", "--device", "cuda"],
                 ["decode", stream, "-o", decoded, "--device", "cuda:0"],
                 ["bench", "--dataset", tmp_path, "--codecs", "jpeg", "--out", tmp_path / "b", "--device", "cuda"]):
        code, _, err = run(args, capsys)
        assert code == 2 and "no CUDA device" in err, args
    assert not (tmp_path / "b" / "results.jsonl").exists()


def test_decode_with_a_faster_decoder_and_its_errors(tmp_path, face_png, capsys):
    stream, webp = tmp_path / "face.lmn", tmp_path / "face-webp.lmn"
    assert run(["encode", face_png, "-o", stream, "--codec", "codebook-svr", "--quality", "1"], capsys)[0] == 0
    reference, fast = tmp_path / "reference.png", tmp_path / "int8.png"
    assert run(["decode", stream, "-o", reference], capsys)[0] == 0
    assert run(["decode", stream, "-o", fast, "--decoder", "int8"], capsys)[0] == 0
    a, b = (np.asarray(Image.open(p)).astype(int) for p in (reference, fast))
    assert a.shape == b.shape and 0 < np.abs(a - b).mean() < 5
    with pytest.raises(SystemExit) as exit_info:  # argparse's own one-line error for a value not among the choices
        main(["decode", str(stream), "-o", str(fast), "--decoder", "fp4"])
    assert exit_info.value.code == 2 and "--decoder" in capsys.readouterr().err
    assert run(["encode", face_png, "-o", webp, "--codec", "webp", "--quality", "30"], capsys)[0] == 0
    code, _, err = run(["decode", webp, "-o", fast, "--decoder", "int8"], capsys)
    assert code == 2 and "--decoder" in err and "webp" in err and "Traceback" not in err
