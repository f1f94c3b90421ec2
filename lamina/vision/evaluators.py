"""One object that scores a decoded image against its original for every requested metric.

Reference quantities (face box, landmarks, mesh, parsing map, identity embeddings, attribute and class
predictions) are computed once per original image by `reference()` and reused for every codec,
quality and layer by `score()`. Metric names (columns of results.jsonl):

human:   psnr, ms_ssim, fsim, lpips_alex, lpips_vgg, dists, niqe
machine: nme_dlib (vs the original's dlib prediction), nme_dlib_gt (vs ground truth, Helen/AFW),
         nme_mesh + mesh_found (MediaPipe mesh vs the original's mesh), parsing_fwiou,
         id_dlib_distance + id_dlib_kept (dlib descriptor, threshold 0.6), id_mfn_cosine (MobileFaceNet),
         recog_dlib_correct (CelebA: nearest train-split original by dlib descriptor has the probe's
         identity), attr_match (CelebA-40 probe agreement), class_agree (EfficientNet-Lite0 top-1
         agreement with the original), top1 / top5 (EfficientNet-Lite0 top-1 / top-5 accuracy against the
         image's ImageNet class where the set has one: imagenette; NaN elsewhere)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

GROUPS = {
    "psnr": ("psnr",), "ms_ssim": ("ms_ssim",), "fsim": ("fsim",), "lpips_alex": ("lpips_alex",),
    "lpips_vgg": ("lpips_vgg",), "dists": ("dists",), "niqe": ("niqe",),
    "landmarks_dlib": ("nme_dlib", "nme_dlib_gt"), "landmarks_mesh": ("nme_mesh", "mesh_found"),
    "parsing": ("parsing_fwiou",), "identity_dlib": ("id_dlib_distance", "id_dlib_kept"),
    "identity_mfn": ("id_mfn_cosine",), "recognition": ("recog_dlib_correct",),
    "attributes": ("attr_match",), "classification": ("class_agree", "top1", "top5"),
}
DEFAULT_FACE_METRICS = ("psnr", "ms_ssim", "lpips_alex", "landmarks_dlib", "landmarks_mesh", "parsing",
                        "identity_dlib", "identity_mfn")
ALL_METRICS = tuple(GROUPS)
# Direction of each column, for BD-rates and plots.
LOWER_IS_BETTER = {"lpips_alex", "lpips_vgg", "dists", "niqe", "nme_dlib", "nme_dlib_gt", "nme_mesh",
                   "id_dlib_distance", "flicker"}
# What a reader sees for each column: name, unit, direction (↑ higher is better, ↓ lower is better).
LABELS = {"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM", "fsim": "FSIM", "lpips_alex": "LPIPS-alex",
          "lpips_vgg": "LPIPS-vgg", "dists": "DISTS", "niqe": "NIQE", "nme_dlib": "landmark NME vs original, dlib",
          "nme_dlib_gt": "landmark NME vs ground truth, dlib", "nme_mesh": "mesh landmark NME vs original",
          "mesh_found": "mesh found (fraction)", "parsing_fwiou": "face parsing fwIoU vs original",
          "id_dlib_distance": "identity distance, dlib", "id_dlib_kept": "identity kept, dlib (fraction)",
          "id_mfn_cosine": "identity cosine, MobileFaceNet", "recog_dlib_correct": "recognised in gallery, dlib "
          "(fraction)", "attr_match": "attributes kept (fraction)", "class_agree": "ImageNet class agrees (fraction)",
          "top1": "top-1 accuracy, EfficientNet-Lite0", "top5": "top-5 accuracy, EfficientNet-Lite0",
          "flicker": "flicker: error of frame-to-frame change, 8-bit levels"}


def label(metric: str) -> str:
    """'PSNR (dB) ↑', 'LPIPS-alex ↓', ...: the metric's name with unit and direction."""
    return f"{LABELS.get(metric, metric)} {'↓' if metric in LOWER_IS_BETTER else '↑'}"


@dataclass
class Gallery:
    """dlib descriptors and identities of the CelebA train split originals (recognition gallery)."""

    descriptors: np.ndarray
    identities: np.ndarray

    @classmethod
    def build(cls, root=None, cache_path=None) -> "Gallery":
        from ..data.datasets import load_dataset
        from .face import face_box, shape68, shape_to_array
        from .identity import dlib_descriptor
        if cache_path is not None and cache_path.exists():
            data = np.load(cache_path)
            return cls(data["descriptors"], data["identities"])
        descriptors, identities = [], []
        for item in load_dataset("celeba-train", root=root):
            image = item.image()
            marks = shape_to_array(shape68(image, face_box(image)))
            descriptors.append(dlib_descriptor(image, marks))
            identities.append(item.identity)
        gallery = cls(np.array(descriptors), np.array(identities))
        if cache_path is not None:
            np.savez(cache_path, descriptors=gallery.descriptors, identities=gallery.identities)
        return gallery


class Evaluator:
    """Scores decoded images against originals for a list of metric groups (see GROUPS)."""

    def __init__(self, metrics=DEFAULT_FACE_METRICS, gallery: Gallery | None = None):
        unknown = [m for m in metrics if m not in GROUPS]
        if unknown:
            raise InputError(f"unknown metrics {unknown}; known: {', '.join(GROUPS)}")
        self.metrics = tuple(metrics)
        self.gallery = gallery
        if "recognition" in self.metrics and gallery is None:
            raise InputError("recognition needs a gallery (celeba-train descriptors)")

    @property
    def columns(self) -> list[str]:
        return [c for m in self.metrics for c in GROUPS[m]]

    def _needs(self, *groups) -> bool:
        return any(g in self.metrics for g in groups)

    def reference(self, image: np.ndarray, item=None) -> dict:
        """Everything the metrics need from the original image."""
        from .face import box_to_tuple, face_box
        from .landmarks import dlib68, mesh468
        ref = {"image": image, "item": item}
        if self._needs("landmarks_dlib", "identity_dlib", "identity_mfn", "recognition", "attributes"):
            box = box_to_tuple(face_box(image))
            ref["box"] = box
            ref["lm68"] = dlib68(image, box)
        if self._needs("landmarks_mesh", "parsing"):
            ref["mesh"] = mesh468(image)
        if self._needs("parsing"):
            from .parsing import parsing_map
            ref["parsing"] = parsing_map(ref["mesh"], *image.shape[:2])
        if self._needs("identity_dlib", "recognition"):
            from .identity import dlib_descriptor
            ref["descriptor"] = dlib_descriptor(image, ref["lm68"])
        if self._needs("identity_mfn"):
            from .attributes import aligned_crop
            from ..nn.mobilefacenet import embed
            ref["mfn"] = embed(aligned_crop(image, ref["lm68"])[None])[0]
        if self._needs("attributes"):
            from .attributes import predict
            ref["attributes"] = predict(image, ref["lm68"])
        if self._needs("classification"):
            from .classify import classify
            ref["class"] = int(np.argmax(classify(image)))
        return ref

    def score(self, ref: dict, decoded: np.ndarray) -> dict[str, float]:
        """Metric values of a decoded image (NaN where a metric does not apply to this image)."""
        original = ref["image"]
        out: dict[str, float] = {}
        if decoded.shape != original.shape:
            raise InputError(f"decoded shape {decoded.shape} differs from the original {original.shape}")
        if self._needs("psnr"):
            from ..metrics.pixel import psnr
            out["psnr"] = psnr(original, decoded)
        if self._needs("ms_ssim"):
            from ..metrics.pixel import ms_ssim
            out["ms_ssim"] = ms_ssim(original, decoded)
        if self._needs("fsim"):
            from ..metrics.pixel import fsim
            out["fsim"] = fsim(original, decoded)
        for name in ("lpips_alex", "lpips_vgg", "dists"):
            if self._needs(name):
                from ..metrics import perceptual
                out[name] = getattr(perceptual, name)(original, decoded)
        if self._needs("niqe"):
            from ..metrics.niqe import niqe
            try:
                out["niqe"] = niqe(decoded)
            except ValueError:
                out["niqe"] = float("nan")  # image smaller than NIQE's 192 px minimum
        if self._needs("landmarks_dlib"):
            from .landmarks import dlib68, nme
            points = dlib68(decoded, ref["box"])
            out["nme_dlib"] = nme(points, ref["lm68"])
            item = ref.get("item")
            gt = getattr(item, "landmarks", None)
            out["nme_dlib_gt"] = nme(points, gt) if gt is not None else float("nan")
        mesh = None
        if self._needs("landmarks_mesh", "parsing"):
            from .landmarks import mesh468
            mesh = mesh468(decoded)
        if self._needs("landmarks_mesh"):
            from .landmarks import MESH_OUTER_EYE_CORNERS, nme
            found = mesh is not None
            out["mesh_found"] = float(found)
            if ref["mesh"] is None:
                out["nme_mesh"] = float("nan")  # the original has no mesh: nothing to compare with
            else:
                out["nme_mesh"] = nme(mesh, ref["mesh"], MESH_OUTER_EYE_CORNERS) if found else float("nan")
        if self._needs("parsing"):
            from .parsing import fw_iou, parsing_map
            out["parsing_fwiou"] = fw_iou(ref["parsing"], parsing_map(mesh, *decoded.shape[:2]))
        descriptor = None
        if self._needs("identity_dlib", "recognition"):
            from .identity import DLIB_SAME_PERSON, dlib_descriptor
            descriptor = dlib_descriptor(decoded, ref["lm68"])
            if self._needs("identity_dlib"):
                distance = float(np.linalg.norm(descriptor - ref["descriptor"]))
                out["id_dlib_distance"] = distance
                out["id_dlib_kept"] = float(distance < DLIB_SAME_PERSON)
        if self._needs("recognition"):
            identity = getattr(ref.get("item"), "identity", None)
            if identity is None:
                out["recog_dlib_correct"] = float("nan")
            else:
                nearest = np.argmin(np.linalg.norm(self.gallery.descriptors - descriptor, axis=1))
                out["recog_dlib_correct"] = float(self.gallery.identities[nearest] == identity)
        if self._needs("identity_mfn"):
            from .attributes import aligned_crop
            from ..nn.mobilefacenet import embed
            out["id_mfn_cosine"] = float(embed(aligned_crop(decoded, ref["lm68"])[None])[0] @ ref["mfn"])
        if self._needs("attributes"):
            from .attributes import predict
            out["attr_match"] = float(np.mean(predict(decoded, ref["lm68"]) == ref["attributes"]))
        if self._needs("classification"):
            from .classify import classify
            probs = classify(decoded)
            out["class_agree"] = float(int(np.argmax(probs)) == ref["class"])
            label = getattr(ref["item"], "imagenet_class", None)
            out["top1"] = float(int(np.argmax(probs)) == label) if label is not None else float("nan")
            out["top5"] = float(label in np.argsort(probs)[-5:]) if label is not None else float("nan")
        return out
