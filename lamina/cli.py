"""`lamina` command: thin wrappers over library functions. Bad input -> one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import InputError, LaminaError


def _codec_options(args, codec_name: str, kind: str = "encode_options") -> dict:
    """The chosen codec's own `lamina encode` (or, kind="decode_options", `lamina decode`) options; an error for
    options of other codecs."""
    from .registry import classes, codec_class
    own = {option.dest for option in getattr(codec_class(codec_name), kind)}
    options = {}
    for cls in classes():
        for option in getattr(cls, kind):
            value = getattr(args, option.dest, None)
            if value is None or value is False:
                continue
            if option.dest not in own:
                raise InputError(f"{option.flag} applies to {cls.name}, not {codec_name}")
            options[option.dest] = value
    return options


def _load_image_noting(path):
    """load_image, printing its conversion notices (grey coded as RGB, opaque alpha dropped) on stderr."""
    from .imageio import load_image
    notices: list[str] = []
    image = load_image(path, notices)
    for notice in notices:
        print(f"lamina: note: {notice}", file=sys.stderr)
    return image


def _cmd_encode(args) -> None:
    from .codecs.base import VIDEO
    from .imageio import write_atomic
    from .registry import load
    from .video import is_video_path
    codec = load(args.codec, quality=args.quality, device=args.device, **_codec_options(args, args.codec))
    if is_video_path(args.input):
        if not codec.supports(VIDEO):
            raise InputError(f"{args.codec} codes images only; video needs a codec with a video mode")
        _encode_video(args, codec)
        return
    image = _load_image_noting(args.input)
    if args.align:
        from .vision.align import align_face
        image = align_face(image, size=args.align)
    stream = codec.encode(image)
    data = stream.to_bytes()
    write_atomic(args.output, data)
    print(f"{args.output}: {args.codec} {codec.setting()}, {len(data)} bytes, "
          f"{stream.bpp():.4f} bpp, {stream.width}x{stream.height}")
    note = codec.encode_note()
    if note:
        print(note)


def _encode_video(args, codec) -> None:
    from .imageio import write_atomic
    from .video import read_video
    frames, fps = read_video(args.input)
    if args.align:
        from .vision.align import align_clip
        frames = align_clip(frames, size=args.align)
    stream = codec.encode_video(frames, fps)
    data = stream.to_bytes()
    write_atomic(args.output, data)
    print(f"{args.output}: {args.codec} video, {len(frames)} frames at {fps:g} fps, {len(data)} bytes")


def _cmd_decode(args) -> None:
    from .bitstream import KIND_VIDEO, read_stream
    from .codecs.base import FEATURE, VIDEO
    from .imageio import save_image
    from .registry import load_for_stream
    stream = read_stream(args.input)
    codec = load_for_stream(stream, device=args.device)
    if args.feature:
        if not codec.supports(FEATURE):
            raise InputError(f"{stream.codec} streams have no feature layer; --feature needs a codec with one "
                             f"(such as feature-texture)")
        _decode_feature(args, stream, codec)
        return
    if stream.kind == KIND_VIDEO:
        from .video import write_video
        if not codec.supports(VIDEO):
            raise InputError(f"{stream.codec} has no video decoder")
        frames = codec.decode_video(stream, layers=args.layers,
                                    **_codec_options(args, stream.codec, "decode_options"))
        write_video(args.output, frames, codec.video_fps(stream))
        print(f"{args.output}: {stream.codec} video, {len(frames)} frames, "
              f"{args.layers or stream.available_layers} of {len(stream.declared_layers)} layers")
        return
    image = codec.decode(stream, layers=args.layers, **_codec_options(args, stream.codec, "decode_options"))
    save_image(image, args.output)
    k = args.layers or stream.available_layers
    print(f"{args.output}: {stream.codec}, {k} of {len(stream.declared_layers)} layers, "
          f"{image.shape[1]}x{image.shape[0]}")


def _decode_feature(args, stream, codec) -> None:
    """`decode --feature`: the base layer's feature vector to .npy, without running an image network."""
    import io

    import numpy as np

    from .imageio import write_atomic
    if args.layers not in (None, 1):
        raise InputError("--feature decodes the first layer only: use --layers 1 or leave --layers out")
    if not args.output.endswith(".npy"):
        raise InputError(f"--feature writes a .npy file, not {args.output}")
    feature = codec.decode_feature(stream)
    buffer = io.BytesIO()
    np.save(buffer, feature.astype(np.float32))
    write_atomic(args.output, buffer.getvalue())
    print(f"{args.output}: {stream.codec} feature layer, {feature.shape[0]}-d feature, "
          f"{len(stream.layers[0].payload)} payload bytes")


def _cmd_swap(args) -> None:
    """`swap A B -o OUT`: A's basic and enhanced layers with B's middle layer, re-coded without pixels."""
    from .bitstream import read_stream
    from .codecs.base import SWAP
    from .imageio import write_atomic
    from .registry import load_for_stream
    a, b = read_stream(args.first), read_stream(args.second)
    codec = load_for_stream(a)
    if not codec.supports(SWAP):
        raise InputError(f"swap needs streams of a codec with style layers (stylegan-scalable), not {a.codec}")
    stream = codec.swap(a, b)
    data = stream.to_bytes()
    write_atomic(args.output, data)
    print(f"{args.output}: {stream.codec}, layers {', '.join(stream.declared_layers)} "
          f"(middle from {args.second}), {len(data)} bytes")


def _cmd_info(args) -> None:
    from .bitstream import KIND_VIDEO, read_stream
    stream = read_stream(args.input)
    if stream.version >= 2:  # v2 carries only the layer count: the names are the codec's spec
        from .errors import InputError
        from .registry import codec_class
        try:
            stream = stream.named(tuple(spec.name for spec in codec_class(stream.codec).layers))
        except InputError:
            pass  # a codec this lamina cannot load: generic names
    total = len(stream.to_bytes())
    pixels = stream.height * stream.width
    print(f"file:      {args.input}")
    print(f"container: version {stream.version}")
    print(f"codec:     {stream.codec}")
    print(f"kind:      {'video' if stream.kind else 'image'}")
    print(f"size:      {stream.width}x{stream.height}")
    if stream.kind == KIND_VIDEO:
        # rates of a clip: per frame and per second (the codec header holds frames and fps)
        from .registry import codec_class
        video = codec_class(stream.codec).video_info(stream)
        frames, seconds = video["frames"], video["frames"] / video["fps"]
        settings = ", ".join(f"{k} {v}" for k, v in video.items() if k not in ("frames", "fps"))
        print(f"frames:    {frames} at {video['fps']:g} fps ({seconds:.2f} s)" + (f"; {settings}" if settings else ""))
        print(f"bytes:     {total} ({total / frames:.1f} bytes per frame, {8 * total / seconds / 1000:.2f} kbit/s, "
              f"{8 * total / frames / pixels:.4f} bpp per frame)")
        unit, rate, digits, cum_width = "kbit/s", lambda n: 8 * n / seconds / 1000, 2, 11
    else:
        print(f"bytes:     {total} ({8 * total / pixels:.4f} bpp)")
        unit, rate, digits, cum_width = "bpp", lambda n: 8 * n / pixels, 4, 9
    print(f"model id:  {stream.model_id.hex()}")
    header = len(stream.header_bytes())
    print(f"header:    {header} bytes ({100 * header / total:.1f}% of the file; codec header {len(stream.codec_header)}), "
          f"payloads {total - header} bytes")
    print(f"layers:    {stream.available_layers} of {len(stream.declared_layers)} present")
    cum_unit = f"cum. {unit}"
    print(f"  {'#':>2}  {'name':<12} {'bytes':>8} {unit:>8} {'cum. bytes':>11} {cum_unit:>{cum_width}}")
    for k, (name, size) in enumerate(stream.layer_sizes(), 1):
        cumulative = stream.bytes_up_to(k)
        print(f"  {k:>2}  {name:<12} {size:>8} {rate(size):>8.{digits}f} {cumulative:>11} "
              f"{rate(cumulative):>{cum_width}.{digits}f}")


def _cmd_truncate(args) -> None:
    from .bitstream import read_stream
    from .imageio import write_atomic
    stream = read_stream(args.input).truncate(args.layers)
    data = stream.to_bytes()
    write_atomic(args.output, data)
    print(f"{args.output}: {args.layers} layers, {len(data)} bytes")


def _cmd_align(args) -> None:
    from .imageio import save_image
    from .vision.align import align_face
    image = _load_image_noting(args.input)
    save_image(align_face(image, size=args.size), args.output)
    print(f"{args.output}: aligned {args.size}x{args.size}")


def _cmd_bench(args) -> None:
    if args.video:
        from .bench.video import VideoBenchConfig, run_video_bench
        if args.every != 1:
            raise InputError("--every is for images; with --video use --limit (clips) and --frame-every")
        if args.batch != 1:
            raise InputError("--batch is for images; clips code their frames in order")
        out = run_video_bench(VideoBenchConfig(
            dataset=args.dataset, codecs=args.codecs, out=Path(args.out), qualities=args.qualities,
            metrics=args.metrics, frames=args.frames, frame_every=args.frame_every, limit=args.limit, align=args.align,
            workers=args.workers, anchors=args.anchor, data_root=args.data_root, device=args.device))
        _print_bench_summary(out)
        return
    from .bench.runner import BenchConfig, run_bench
    config = BenchConfig(dataset=args.dataset, codecs=args.codecs, qualities=args.qualities,
                         metrics=args.metrics, out=Path(args.out), limit=args.limit, every=args.every,
                         workers=args.workers, scheduler=args.scheduler, batch=args.batch,
                         anchors=args.anchor, data_root=args.data_root, device=args.device)
    out = run_bench(config)
    _print_bench_summary(out)


def _print_bench_summary(out: Path) -> None:
    """Where the report is, and each codec setting's full stream: bytes, bpp and the first metrics."""
    import csv
    from .vision.evaluators import label
    with open(out / "summary.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["layer"] == r["layers_total"]]
    from .bench.report import SETTING_COLUMNS
    from .bench.video import CLIP_COLUMNS
    skip = SETTING_COLUMNS | CLIP_COLUMNS
    metrics = [k for k in (rows[0] if rows else {}) if k not in skip and any(r[k] for r in rows)][:3]
    print(f"report: {out / 'report.md'} (summary.csv, bd_rates.json, plots/)")
    rate = "kbps" if rows and "kbps" in rows[0] else "bpp"  # video runs: kbit/s
    print(f"{'codec':<22} {'quality':>7} {'items':>6} {'bytes':>9} {rate:>8}  " +
          "  ".join(f"{label(m):>14}" for m in metrics))
    for r in rows:
        print(f"{r['codec']:<22} {r['quality']:>7} {r['images']:>6} {float(r['bytes']):>9.0f} {float(r[rate]):>8.4g}  "
              + "  ".join(f"{float(r[m]):>14.4g}" if r[m] else f"{'-':>14}" for m in metrics))


def _cmd_train(args) -> None:
    from .registry import trainable
    summary = trainable(args.name).run(args.stage, args)
    if summary:
        print(summary)


def _cmd_demo(args) -> None:
    from .demo import run_demo
    run_demo(Path(args.out), image_path=args.image)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the `lamina` command. Codec and trainable options (which import every codec
    and training module) are added only to the parser of `command` when it is encode or train, so the other
    commands start without importing torch."""
    parser = argparse.ArgumentParser(prog="lamina", description=__doc__.split(":")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("encode", help="code an image into a .lmn stream")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--codec", required=True)
    p.add_argument("--quality", type=int, default=None, help="codec-native quality (see `lamina codecs`)")
    p.add_argument("--align", type=int, default=None, metavar="SIZE",
                   help="face codecs: first crop the face into the shared framing at SIZE x SIZE (as `lamina "
                        "align`; a clip with its first frame's alignment); the stream codes the crop")
    _add_device(p)
    if command == "encode":
        _add_options(p, [(cls.name, cls.encode_options) for cls in _codec_classes()])
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("decode", help="decode a .lmn stream to an image")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--layers", type=int, default=None, help="decode only the first k layers")
    p.add_argument("--feature", action="store_true",
                   help="write the feature layer's decoded vector to OUTPUT.npy (codecs with a feature layer)")
    _add_device(p)
    if command == "decode":
        _add_options(p, [(cls.name, cls.decode_options) for cls in _codec_classes()])
    p.set_defaults(func=_cmd_decode)

    p = sub.add_parser("swap", help="A's basic + enhanced layers with B's middle layer (stylegan-scalable)")
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_cmd_swap)

    p = sub.add_parser("info", help="print a stream's header and layer table")
    p.add_argument("input")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("truncate", help="keep the first k layers of a stream")
    p.add_argument("input")
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_cmd_truncate)

    p = sub.add_parser("align", help="detect and align a face into the shared crop framing")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--size", type=int, default=256)
    p.set_defaults(func=_cmd_align)

    p = sub.add_parser("codecs", help="list registered codecs and their quality ranges")
    p.set_defaults(func=_cmd_codecs)

    p = sub.add_parser("bench", help="dataset x codec x quality benchmark with report (images, or clips with "
                                     "--video; `lamina bench merge -h`: earlier runs beside a new one)",
                       epilog="lamina bench merge OUT NEW SOURCE [SOURCE ...] [--anchor A] [--codecs C ...]: a new "
                              "run's codecs beside earlier runs (bench folders or summary.csv files) in one report")
    p.add_argument("--dataset", required=True, help="utk-test, celeba-test, landmarks-helen-test, kodak, ... or a "
                                                    "folder of your images, or a text file listing image paths; "
                                                    "with --video: talking-faces, video-natural or a folder of clips")
    p.add_argument("--video", action="store_true", help="code clips with the video codecs (lamina codecs with a "
                                                        "video mode; x265 and vvenc at constant QP)")
    p.add_argument("--frames", type=int, default=30, help="--video: first N frames of each clip")
    p.add_argument("--frame-every", type=int, default=3, help="--video: score every N-th frame")
    p.add_argument("--align", action="store_true", default=None,
                   help="--video on a folder: the clips are one-face clips, crop them into the face framing (256)")
    p.add_argument("--codecs", nargs="+", required=True)
    p.add_argument("--qualities", nargs="*", type=int, default=None,
                   help="quality grid (default: each codec's bench grid)")
    p.add_argument("--metrics", nargs="+", default=None, help="metric names (default: the standard set)")
    p.add_argument("--out", required=True)
    p.add_argument("--limit", type=int, default=None, help="first N images (clips) only")
    p.add_argument("--every", type=int, default=1, help="every N-th image of the set only (a fixed subset)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the images on a Dask distributed cluster (e.g. tcp://10.0.0.5:8786); its workers need "
                        "lamina installed and the shared data at the same path")
    p.add_argument("--batch", type=int, default=1, metavar="N",
                   help="images: code N images together in this process (threads; on a GPU the TAEF2 encoder and "
                        "decoder run once per group of same-sized images); the same rows as one at a time")
    p.add_argument("--anchor", nargs="+", default=None, help="anchor codec(s) for BD-rate tables (default vvc)")
    p.add_argument("--data-root", default=None, help="shared data folder (default ../shared/data)")
    _add_device(p, " (the scoring networks stay on the CPU)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("train", help="train a codec, the face prior or an evaluator network (torchrun-compatible)")
    trainables = _trainables() if command == "train" else []
    p.add_argument("name", help="what to train: " + (", ".join(t.name for t in trainables) or "see lamina train -h"))
    p.add_argument("--stage", default=None, help="training stage (default: the trainable's first stage)")
    # The common training options default to None: what is not given takes the trainable's own default (the shared
    # loop's lamina.train.loop.TrainConfig, or the codec's stage config), written once, where it is used.
    p.add_argument("--data", default=None, help="training source: utk, celeba, faces (shared loop default utk)")
    p.add_argument("--lambda", dest="lmbda", type=float, default=None, help="rate-distortion weight")
    p.add_argument("--quality", type=int, default=None, help="zoo quality index (sets lambda if not given)")
    p.add_argument("--preset", default=None, help="architecture preset (stylegan-scalable: paper, cpu128; "
                                                  "face-prior: latent128, ...)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is in --out")
    p.add_argument("--max-minutes", type=float, default=None, help="stop, checkpoint and export after this long")
    p.add_argument("--checkpoint-minutes", type=float, default=None, help="also checkpoint every N minutes")
    p.add_argument("--device", default=None, help="cpu (default) or cuda")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--patch", type=int, default=None, help="random crop side (shared loop default 128)")
    p.add_argument("--resize", type=int, default=None, help="resize training images to this side first")
    p.add_argument("--lr", type=float, default=None, help="learning rate (shared loop default 1e-4)")
    p.add_argument("--betas", nargs=2, type=float, default=None, metavar=("B1", "B2"),
                   help="Adam betas (shared loop default 0.9 0.999; the stylegan-scalable paper: 0 0.99)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="export (and validate) an exponential moving average of the weights with this decay per "
                        "step, e.g. 0.998 (a run resumed with it starts the average at its current weights)")
    p.add_argument("--val-every", type=int, default=None)
    p.add_argument("--data-root", default=None)
    p.add_argument("--max-train-images", type=int, default=None, help="smoke runs: first N training images")
    p.add_argument("--init-from", default=None, help="warm start from exported weights (e.g. the next lower quality)")
    p.add_argument("--quiet", action="store_true")
    _add_options(p, [(t.name, t.options) for t in trainables])
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("demo", help="code a face with every codec at its lowest setting")
    p.add_argument("--out", default="lamina-demo")
    p.add_argument("--image", default=None, help="a photo to use instead of scikit-image's astronaut")
    p.set_defaults(func=_cmd_demo)
    return parser


def _add_device(parser, note: str = "") -> None:
    parser.add_argument("--device", default="cpu", help="where learned codecs run: cpu (default), cuda or cuda:N"
                                                        + note)


def _cmd_codecs(args) -> None:
    from .registry import codec_class, names
    for name in names():
        cls = codec_class(name)
        direction = "higher is better" if cls.higher_is_better else "lower is better"
        layers = ", ".join(spec.name for spec in cls.layers)
        print(f"{name:<12} {cls.describe_qualities()} ({direction}; default {cls.default_setting()}); "
              f"layers: {layers}")
        if cls.status:
            print(f"{'':<12} looks like: {cls.status}")


def _codec_classes():
    from .registry import classes
    return classes()


def _trainables():
    from .registry import trainables
    return list(trainables().values())


def _add_options(parser, owners) -> None:
    """Add every owner's Option to parser once per flag (an argument group per owner), default None."""
    seen = set(parser._option_string_actions)
    for owner, options in owners:
        fresh = [o for o in options if o.flag not in seen]
        if not fresh:
            continue
        group = parser.add_argument_group(f"{owner} options")
        for option in fresh:
            seen.add(option.flag)
            if option.type is bool:
                group.add_argument(option.flag, dest=option.dest, action="store_true", default=None,
                                   help=option.help)
            else:
                group.add_argument(option.flag, dest=option.dest, type=option.type, default=None,
                                   choices=option.choices, help=option.help)


def bench_merge_parser() -> argparse.ArgumentParser:
    """`lamina bench merge`: its own parser (bench's options describe a run)."""
    p = argparse.ArgumentParser(prog="lamina bench merge", description="A new bench run's codecs beside codecs "
                                "measured earlier, in one report over the same images (lamina.bench.merge).")
    p.add_argument("out", help="folder for the merged report")
    p.add_argument("new", help="the new `lamina bench` output folder")
    p.add_argument("sources", nargs="+", help="earlier bench folders (their rows for the same images) or "
                                              "summary.csv files (their means as they are)")
    p.add_argument("--anchor", nargs="+", default=None, help="anchor codec(s) for BD-rates (default: the new "
                                                              "run's, else vvc)")
    p.add_argument("--codecs", nargs="+", default=None, help="codecs to take from the sources (default all)")
    p.add_argument("--ladder", nargs="+", action="append", default=None, metavar="NAME_OR_ITEM",
                   help="NAME LABEL:Q1,Q2 [LABEL:Q ...]: one more curve NAME made of these settings of other "
                        "curves, in this order (a codec's chosen configuration at each rate); repeatable")
    p.set_defaults(func=_cmd_bench_merge)
    return p


def _cmd_bench_merge(args) -> None:
    from .bench.merge import merge
    count, codecs = merge(Path(args.out), Path(args.new), [Path(s) for s in args.sources], args.anchor, args.codecs,
                          args.ladder)
    print(f"{count} curve points, codecs: {', '.join(codecs)} -> {args.out}")
    _print_bench_summary(Path(args.out))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["bench", "merge"]:
        parser, argv = bench_merge_parser(), argv[2:]
    else:
        parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except BrokenPipeError:  # the reader went away (`lamina info x.lmn | head`): not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except LaminaError as exc:
        print(f"lamina: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        # Files we cannot write, bad argument values: still the user's input, still one line.
        print(f"lamina: error: {InputError(str(exc))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
