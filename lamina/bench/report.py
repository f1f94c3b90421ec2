"""Summaries, RD plots, BD-rate tables and report.md from a results.jsonl."""
from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

META = {"dataset", "image", "clip", "options", "codec", "quality", "layer", "layer_name", "layers_total", "width",
        "height", "per_frame", "ladder_of"}
# summary.csv columns that describe a setting or its cost rather than a quality metric
SETTING_COLUMNS = {"codec", "quality", "layer", "layer_name", "images", "bytes", "header_bytes", "payload_bytes", "bpp",
                   "layers_total", "encode_s", "decode_s"}


def number_or_none(value):
    """A row's value for JSON: NaN (a metric that does not apply) becomes None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def read_rows(path: Path) -> list[dict]:
    """Rows of a results.jsonl (a torn last line from an interrupted run is ignored)."""
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean of every numeric column per (codec, quality, layer); NaN/None values are left out."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["codec"], int(row["quality"]), int(row["layer"]))].append(row)
    summary = []
    for (codec, quality, layer), members in sorted(groups.items()):
        entry = {"codec": codec, "quality": quality, "layer": layer,
                 "layer_name": members[0].get("layer_name", ""), "layers_total": members[0].get("layers_total", 1),
                 "images": len(members)}
        columns = [c for c in members[0] if c not in META]
        for column in columns:
            values = [m[column] for m in members if isinstance(m.get(column), (int, float))
                      and not (isinstance(m[column], float) and math.isnan(m[column]))]
            entry[column] = float(np.mean(values)) if values else None
        summary.append(entry)
    return summary


def curves(summary: list[dict], metric: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{label: (bpp sorted, metric)} with one curve per codec and layer."""
    out: dict[str, list] = defaultdict(list)
    for entry in summary:
        if entry.get(metric) is None:
            continue
        layers_total = entry.get("layers_total") or 1
        label = entry["codec"] if layers_total == 1 else f"{entry['codec']} L{entry['layer']}"
        out[label].append((entry["bpp"], entry[metric]))
    result = {}
    for label, points in out.items():
        points.sort()
        result[label] = (np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    return result


def bd_table(summary: list[dict], metric: str, anchor: str) -> dict[str, float | None]:
    """BD-rate (%) of each curve against the anchor's, at equal metric value."""
    from ..metrics.bdrate import bd_rate
    from ..vision.evaluators import LOWER_IS_BETTER
    all_curves = curves(summary, metric)
    if anchor not in all_curves:
        return {}
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    ra, qa = all_curves[anchor]
    table = {}
    for label, (rt, qt) in all_curves.items():
        # Bjontegaard's fit needs quality strictly increasing with rate; saturated or noisy curves
        # (e.g. a kept-identity fraction stuck at 1.0) have no meaningful BD-rate.
        if not (_increasing(sign * qa) and _increasing(sign * qt)):
            table[label] = None
            continue
        try:
            table[label] = bd_rate(ra, sign * qa, rt, sign * qt, method="pchip")
        except (ValueError, np.linalg.LinAlgError):
            table[label] = None  # fewer than 4 points, or no overlap in quality
    return table


def _increasing(values: np.ndarray) -> bool:
    return bool(np.all(np.diff(values) > 0))


def plot_metric(summary: list[dict], metric: str, path: Path, title: str,
                rate_label: str = "bits per pixel (whole file, log scale)") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    for label, (bpp, values) in sorted(curves(summary, metric).items()):
        ax.plot(bpp, values, marker="o", markersize=3, label=label)
    ax.set_xscale("log")
    from ..vision.evaluators import label
    ax.set_xlabel(rate_label)
    ax.set_ylabel(label(metric))
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(out: Path, anchors: list[str] | str | None = None) -> None:
    """Write summary.csv, plots/*.png, bd_rates.json and report.md next to results.jsonl."""
    rows = read_rows(out / "results.jsonl")
    if not rows:
        return
    config = json.loads((out / "config.json").read_text()) if (out / "config.json").exists() else {}
    write_summary_report(out, summarise(rows), rows, config, anchors)


def write_summary_report(out: Path, summary: list[dict], rows: list[dict], config: dict,
                         anchors: list[str] | str | None = None, rate_label: str | None = None,
                         not_metrics: set[str] = frozenset()) -> None:
    """summary.csv, plots, bd_rates.json and report.md from per-(codec, quality, layer) means (`summarise`,
    possibly joined with means of earlier runs over the same images); rows give the image count."""
    columns = list(dict.fromkeys(k for entry in summary for k in entry))
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for entry in summary:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in entry.items()})
    skip = SETTING_COLUMNS | set(not_metrics)
    metrics = [c for c in columns if c not in skip]
    metrics = [m for m in metrics if any(e.get(m) is not None for e in summary)]
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    dataset = config.get("dataset", rows[0].get("dataset", "") if rows else "")
    for metric in metrics:
        plot_metric(summary, metric, plots / f"{metric}.png", f"{Path(str(dataset)).name}: {metric} vs rate",
                    *([rate_label] if rate_label else []))
    anchors = anchors or config.get("anchors") or (["vvc"] if any(e["codec"] == "vvc" for e in summary) else [])
    anchors = [anchors] if isinstance(anchors, str) else list(anchors)
    missing = [a for a in anchors if not any(e["codec"] == a for e in summary)]
    anchors = [a for a in anchors if a not in missing]
    bd = {anchor: {m: bd_table(summary, m, anchor) for m in metrics} for anchor in anchors}
    config = dict(config, anchors_not_run=missing)
    (out / "bd_rates.json").write_text(json.dumps({"anchors": anchors, "bd_rate_percent": bd}, indent=2) + "\n")
    _write_markdown(out, config, summary, metrics, bd, rows)


def _fmt(value, digits=4):
    if value is None:
        return "–"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _write_markdown(out, config, summary, metrics, bd, rows):
    dataset = config.get("dataset", "")
    images = len({r["image"] for r in rows})
    if config.get("video"):
        framing = "aligned into the face framing, 256x256" if config.get("aligned") else "as they are"
        lines = [f"# Video benchmark: {dataset}", "",
                 f"{images} clips of {config.get('frames')} frames ({framing}), "
                 f"{len(rows)} rows (clip x codec x setting). Generated by `lamina bench --video`; every number "
                 "below is a mean over the clips; per-frame metrics on every "
                 f"{config.get('frame_every')}-th frame, flicker over all frames. bpp = bits per pixel per frame of "
                 "the whole stream (lamina file, or the baseline's elementary stream); kbit/s in summary.csv.", ""]
    else:
        lines = [f"# Benchmark: {dataset}", "",
                 f"{images} images, {len(rows)} rows (image x codec x quality x layer). Generated by `lamina bench`; "
                 "every number below is a mean over the images. bpp counts the whole lamina file (container header "
                 "included).", ""]
    refused = {(r["codec"], r["quality"], r["image"]): r["refused"] for r in read_rows(out / "refused.jsonl")}
    if refused:
        lines += ["## Refused images", "", "Images a codec refused to code (no face in the shared framing); "
                  "its means are over the other images.", "", "| codec | quality | image | reason |", "|---|---|---|---|"]
        lines += [f"| {c} | {q} | {i} | {why} |" for (c, q, i), why in sorted(refused.items())]
        lines += [""]
    encoders, status = config.get("encoders") or {}, config.get("status") or {}
    if encoders:
        lines += ["## Encoders", "", "| codec | encoder (library/binary and version; learned: weights files and "
                  "model ids) | what its decoded images look like today |", "|---|---|---|"]
        lines += [f"| {k} | {v} | {status.get(k, 'a conventional codec: faithful, artefacts grow as the rate falls')} |"
                  for k, v in encoders.items()]
        lines.append("")
    from ..vision.evaluators import label
    lines += ["## Lowest setting of each codec", "", "bytes = container header + payloads (the header: lamina's "
              "container, version 2 unless the rows say otherwise).", "",
              "| codec | quality | bytes | header + payload | bpp | " +
              " | ".join(label(m) for m in metrics) + " |", "|---" * (5 + len(metrics)) + "|"]
    by_codec = defaultdict(list)
    for entry in summary:
        by_codec[(entry["codec"], entry["layer"])].append(entry)
    for (codec, layer), entries in sorted(by_codec.items()):
        low = min(entries, key=lambda e: e["bpp"])
        name = codec if (low.get("layers_total") or 1) == 1 else f"{codec} L{layer}"
        split = (f"{_fmt(low['header_bytes'], 3)} + {_fmt(low['payload_bytes'], 5)}"
                 if low.get("header_bytes") is not None else "–")
        lines.append(f"| {name} | {low['quality']} | {_fmt(low['bytes'], 5)} | {split} | {_fmt(low['bpp'])} | " +
                     " | ".join(_fmt(low.get(m)) for m in metrics) + " |")
    lines.append("")
    for anchor in config.get("anchors_not_run") or []:
        lines += [f"## BD-rate vs {anchor}", "", f"Not computed: the anchor {anchor} was not run on these images "
                  f"(add it to --codecs, or choose another --anchor).", ""]
    for anchor, tables in bd.items():
        lines += [f"## BD-rate vs {anchor} (%; negative = fewer bits for the same quality)", "",
                  "Bjontegaard delta rate with piecewise cubic (PCHIP) interpolation over each codec's mean curve; "
                  "lower-is-better metrics are negated first. "
                  "– = under 4 points, no overlap in quality, or a curve whose quality is not strictly "
                  "monotone in rate (saturated fractions such as id_dlib_kept or mesh_found).", ""]
        labels = sorted({label for table in tables.values() for label in table})
        lines += ["| metric | " + " | ".join(labels) + " |", "|---" * (1 + len(labels)) + "|"]
        for metric, table in tables.items():
            lines.append(f"| {label(metric)} | " + " | ".join(_fmt(table.get(l), 3) for l in labels) + " |")
        lines.append("")
    lines += ["## Rate-distortion plots", ""]
    for metric in metrics:
        lines += [f"### {label(metric)}", "", f"![{metric}](plots/{metric}.png)", ""]
    lines += ["## Files", "", "- `summary.csv`: means per codec, quality and layer",
              "- `bd_rates.json`: the BD-rate tables above", "- `config.json`: the run's settings and encoders",
              "- `results.jsonl`: one row per image, codec, quality and layer (not always committed: large)", ""]
    (out / "report.md").write_text("\n".join(lines))
