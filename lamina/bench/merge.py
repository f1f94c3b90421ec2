"""`lamina bench merge OUT NEW SOURCE [SOURCE ...]`: a new bench run's codecs beside codecs measured earlier, in one
report over the same images.

NEW is a bench output folder (results.jsonl, config.json). Each SOURCE is either another bench folder (its per-image
rows are kept for the images NEW scored, so every curve is over the same images) or a summary.csv of an earlier run
whose per-image rows were not kept (its means are taken as they are: the caller makes sure they are over the same
images). Codecs NEW holds are never taken from a source; an earlier source wins over a later one; `codecs` limits
what is taken. An image any codec of NEW refused (refused.jsonl) is left out of NEW's rows for every codec. OUT gets
results.jsonl (the rows), config.json (naming every source) and the usual report (summary.csv, bd_rates.json,
plots/, report.md).

`--ladder NAME ITEM [ITEM ...]` adds one more curve, NAME, made of settings of different curves (ITEM =
`label:q1,q2`, e.g. `codebook-svr:1,2,3 codebook-svr@lq_qp=32:3`): a codec's chosen configuration at each rate,
which one spec cannot express. Its rows are copies of those settings' per-image rows with quality = the setting's
place in the ladder (1, 2, ...) and `ladder_of` naming the setting; the original curves stay.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from ..errors import InputError
from .report import read_rows, summarise, write_summary_report


def read_summary(path: Path) -> list[dict]:
    """The entries of a summary.csv written by lamina.bench.report, with their types back."""
    entries = []
    with open(path) as handle:
        for row in csv.DictReader(handle):
            entry = {}
            for key, value in row.items():
                if key in ("codec", "layer_name"):
                    entry[key] = value
                elif key in ("quality", "layer", "layers_total", "images"):
                    entry[key] = int(float(value))
                else:
                    entry[key] = float(value) if value not in ("", None) else None
            entries.append(entry)
    return entries


def ladder_rows(rows: list[dict], name: str, items: list[str]) -> list[dict]:
    """Copies of the rows of each `label:q1,q2` setting, as curve `name` with quality = place in the ladder."""
    if not items:
        raise InputError(f"bench merge: ladder {name!r} needs at least one LABEL:Q1,Q2 item")
    out, place = [], 0
    for item in items:
        label, _, qualities = item.rpartition(":")
        if not label or not qualities:
            raise InputError(f"bench merge: ladder item {item!r} is not LABEL:Q1,Q2")
        try:
            wanted = [int(q) for q in qualities.split(",")]
        except ValueError:
            raise InputError(f"bench merge: ladder item {item!r}: qualities must be integers") from None
        for quality in wanted:
            taken = [r for r in rows if r["codec"] == label and int(r["quality"]) == quality]
            if not taken:
                raise InputError(f"bench merge: ladder {name!r}: no rows of {label} at quality {quality}")
            place += 1
            out += [{**r, "codec": name, "quality": place, "ladder_of": f"{label}:{quality}"} for r in taken]
    return out


def merge(out: Path, new: Path, sources: list[Path], anchors: list[str] | None = None,
          codecs: list[str] | None = None, ladders: list[list[str]] | None = None) -> tuple[int, list[str]]:
    """Write the merged report to out; returns (rows or curve points, codecs)."""
    out, new = Path(out), Path(new)
    if not (new / "results.jsonl").exists():
        raise InputError(f"bench merge: {new} has no results.jsonl (give a `lamina bench` output folder first)")
    refused = {r["image"] for r in read_rows(new / "refused.jsonl")}
    rows = [r for r in read_rows(new / "results.jsonl") if r["image"] not in refused]
    images = {r["image"] for r in rows}
    have = {r["codec"] for r in rows}
    config = json.loads((new / "config.json").read_text()) if (new / "config.json").exists() else {}
    config["merged_from"] = {str(new): "per-image rows (the new run)"}
    extra = []  # means of summary sources
    for source in map(Path, sources):
        wanted = lambda codec: codec not in have and (codecs is None or codec in codecs)  # noqa: E731
        if source.is_dir():
            if not (source / "results.jsonl").exists():
                raise InputError(f"bench merge: {source} has no results.jsonl")
            taken = [r for r in read_rows(source / "results.jsonl") if r["image"] in images and wanted(r["codec"])]
            rows += taken
            run_config = json.loads((source / "config.json").read_text()) if (source / "config.json").exists() else {}
            config["encoders"] = {**run_config.get("encoders", {}), **config.get("encoders", {})}
        elif source.suffix == ".csv" and source.exists():
            taken = [e for e in read_summary(source) if wanted(e["codec"])]
            extra += taken
        else:
            raise InputError(f"bench merge: {source} is neither a bench folder nor a summary.csv")
        got = sorted({e["codec"] for e in taken})
        config["merged_from"][str(source)] = got
        have |= set(got)
    for name, *items in ladders or []:
        if name in have:
            raise InputError(f"bench merge: ladder name {name!r} is already a curve")
        rows += ladder_rows(rows, name, items)
        config.setdefault("ladders", {})[name] = items
        have.add(name)
    config["anchors"] = anchors or config.get("anchors") or ["vvc"]
    config["codecs"] = sorted(have)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    with open(out / "results.jsonl", "w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    if (new / "refused.jsonl").exists() and (new / "refused.jsonl").resolve() != (out / "refused.jsonl").resolve():
        shutil.copy(new / "refused.jsonl", out / "refused.jsonl")
    summary = summarise(rows) + extra
    write_summary_report(out, summary, rows, config, config["anchors"])
    return len(summary), sorted(have)
