"""Evaluators on real shared data: alignment framing, landmarks, parsing, identity, attributes, classes."""
import numpy as np
import pytest
import torch

from lamina.data.datasets import load_dataset
from lamina.errors import InputError, NoFaceError
from lamina.vision.face import box_to_tuple, face_box, shape68, shape_to_array


def blur(image, sigma):
    from PIL import Image, ImageFilter
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(sigma)))


def test_align_reproduces_the_shared_framing(data_root):
    """Re-aligning a photo that contains a UTK crop gives back (nearly) the crop's framing."""
    from lamina.vision.align import align_face
    item = load_dataset("utk-test", root=data_root)[0]
    crop = item.image()
    canvas = np.pad(crop, ((100, 100), (120, 80), (0, 0)), mode="edge")
    aligned = align_face(canvas, size=200)
    before = shape_to_array(shape68(crop, face_box(crop)))
    after = shape_to_array(shape68(aligned, face_box(aligned)))
    eye_distance = np.linalg.norm(before[36] - before[45])
    assert np.mean(np.linalg.norm(before - after, axis=1)) / eye_distance < 0.08


def test_align_without_a_face_is_an_error():
    from lamina.vision.align import align_face
    with pytest.raises(NoFaceError):
        align_face(np.full((300, 300, 3), 127, np.uint8))


def test_align_clip_uses_one_transform_for_every_frame(data_root):
    """A clip whose face moves: every frame is cropped with the first frame's alignment (no jitter), and the
    first frame is cropped exactly as align_face crops it."""
    from lamina.vision.align import align_clip, align_face
    crop = load_dataset("utk-test", root=data_root)[0].image()
    frames = [np.pad(crop, ((100, 100), (100 + dx, 100 - dx), (0, 0)), mode="edge") for dx in (0, 20)]
    aligned = align_clip(frames, 128)
    assert [a.shape for a in aligned] == [(128, 128, 3)] * 2
    assert np.abs(aligned[0].astype(int) - align_face(frames[0], 128)).max() <= 1
    # The second frame's face moved 20 px right in the photo: in the fixed crop it moves too.
    shift = shape_to_array(shape68(aligned[1], face_box(aligned[1])))[:, 0].mean() - \
        shape_to_array(shape68(aligned[0], face_box(aligned[0])))[:, 0].mean()
    assert shift > 5
    with pytest.raises(NoFaceError):
        align_clip([np.full((300, 300, 3), 127, np.uint8)])


def _warp(image, zoom=1.0, shift=0.0, angle=0.0):
    import cv2
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, zoom)
    matrix[0, 2] += shift * w
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101)


def test_framed_face_check_follows_the_training_framing(utk_faces, data_root):
    """Aligned crops pass with their five points where the framing puts them; a face zoomed, shifted or rotated
    past FRAMING_LIMITS (where the face codecs' decodes fall apart, docs/results/face-check) is refused with
    what is wrong and how to align; raw talking-head frames are refused until aligned."""
    from lamina.video import read_video
    from lamina.vision.align import align_face
    from lamina.vision.face import framing_fit, require_framed_face
    for face in utk_faces:
        require_framed_face(face)
        fit = framing_fit(face)
        assert 0.9 < fit.scale < 1.1 and fit.offset < 0.1 and abs(fit.roll) < 5, fit
    face = utk_faces[0]
    assert abs(framing_fit(_warp(face, zoom=0.6)).scale - 0.6) < 0.05
    assert abs(framing_fit(_warp(face, angle=20)).roll - 20) < 3  # counter-clockwise in the picture = +
    for kwargs, words in (({"zoom": 0.6}, "0.6.x the framing's size"), ({"zoom": 1.3}, "1.[23].x the framing's"),
                          ({"shift": 0.15}, "eye distances off the framing's centre"),
                          ({"angle": 25}, "rotated 2. degrees counter-clockwise")):
        with pytest.raises(NoFaceError, match=f"not in the shared framing.*{words}.*--align 256"):
            require_framed_face(_warp(face, **kwargs))
    require_framed_face(_warp(face, zoom=1.05, shift=0.02, angle=4))  # small deviations pass
    with pytest.raises(NoFaceError, match="not a square crop"):
        require_framed_face(np.pad(face, ((0, 0), (100, 100), (0, 0)), mode="edge"))
    with pytest.raises(NoFaceError, match="no face found"):
        require_framed_face(np.full((200, 200, 3), 127, np.uint8))
    frame = read_video(data_root / "video" / "lp_d0.mp4", max_frames=1)[0][0]  # head and shoulders, 512x512
    with pytest.raises(NoFaceError, match="framing's size"):
        require_framed_face(frame)
    require_framed_face(align_face(frame, 256))


def test_dlib_landmarks_match_helen_ground_truth(data_root):
    from lamina.vision.landmarks import dlib68, nme
    errors = []
    for item in load_dataset("landmarks-helen-test", root=data_root, limit=10):
        image = item.image()
        errors.append(nme(dlib68(image, box_to_tuple(face_box(image))), item.landmarks))
    assert np.median(errors) < 0.08


def test_landmark_error_grows_with_degradation(utk_faces):
    from lamina.vision.evaluators import Evaluator
    evaluator = Evaluator(["landmarks_dlib", "landmarks_mesh"])
    clean, mild, strong = [], [], []
    for face in utk_faces:
        ref = evaluator.reference(face)
        clean.append(evaluator.score(ref, face)["nme_dlib"])
        mild.append(evaluator.score(ref, blur(face, 1))["nme_dlib"])
        strong.append(evaluator.score(ref, blur(face, 5))["nme_dlib"])
    assert np.mean(clean) == 0
    assert np.mean(mild) < np.mean(strong)


def test_parsing_map_has_face_regions_and_fwiou_is_one_on_itself(face):
    from lamina.vision.landmarks import mesh468
    from lamina.vision.parsing import CLASSES, fw_iou, parsing_map
    mesh = mesh468(face)
    assert mesh is not None and mesh.shape == (468, 2)
    label = parsing_map(mesh, *face.shape[:2])
    present = set(np.unique(label))
    assert present == set(range(len(CLASSES)))
    assert fw_iou(label, label) == pytest.approx(1.0)
    assert fw_iou(label, np.zeros_like(label)) < 0.7
    assert (parsing_map(None, 10, 10) == 0).all()


def test_mobilefacenet_separates_identities(data_root):
    """Same-identity CelebA test pairs score closer than different-identity pairs."""
    from lamina.vision.attributes import aligned_crop
    from lamina.nn.mobilefacenet import embed
    items = load_dataset("celeba-test", root=data_root)[:80]
    embeddings, identities = [], []
    for item in items:
        image = item.image()
        embeddings.append(embed(aligned_crop(image, shape_to_array(shape68(image, face_box(image))))[None])[0])
        identities.append(item.identity)
    e, ids = np.array(embeddings), np.array(identities)
    sim = e @ e.T
    same = (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)
    different = ids[:, None] != ids[None, :]
    assert same.sum() > 20
    assert sim[same].mean() > sim[different].mean() + 0.3
    # verification: AUC of same vs different pair similarity
    pos, neg = sim[same], sim[different]
    auc = (pos[:, None] > neg[None, :]).mean()
    assert auc > 0.9


def test_mobilefacenet_loader_rejects_wrong_checkpoints(tmp_path):
    from lamina.nn.mobilefacenet import MobileFaceNet, load_mobilefacenet
    wrong = tmp_path / "wrong.ckpt"
    torch.save({"net_state_dict": {"conv1.conv.weight": torch.zeros(3, 3)}}, wrong)
    with pytest.raises(InputError, match="not a MobileFaceNet checkpoint"):
        load_mobilefacenet(wrong)
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read MobileFaceNet weights"):
        load_mobilefacenet(corrupt)
    good = tmp_path / "good.ckpt"
    torch.save(MobileFaceNet().state_dict(), good)
    assert load_mobilefacenet(good)(torch.zeros(2, 3, 112, 96)).shape == (2, 128)


def test_dlib_identity_kept_on_mild_and_lost_on_other_people(utk_faces):
    from lamina.vision.evaluators import Evaluator
    evaluator = Evaluator(["identity_dlib", "identity_mfn"])
    ref = evaluator.reference(utk_faces[0])
    mild = evaluator.score(ref, blur(utk_faces[0], 0.8))
    assert mild["id_dlib_kept"] == 1.0 and mild["id_mfn_cosine"] > 0.8
    others = [evaluator.score(ref, other)["id_dlib_distance"] for other in utk_faces[1:]]
    assert min(others) > mild["id_dlib_distance"]


def test_attribute_probe_beats_majority_and_agrees_with_itself(data_root, face):
    import json

    from lamina.vision import attributes
    card = json.loads(attributes.CARD.read_text())
    assert card["test_accuracy_mean"] > card["test_majority_baseline_mean"] + 0.02
    lm = shape_to_array(shape68(face, face_box(face)))
    prediction = attributes.predict(face, lm)
    assert prediction.shape == (40,) and set(np.unique(prediction)) <= {0, 1}


def test_efficientnet_classifies_a_cat():
    from skimage import data

    from lamina.vision.classify import classify
    probabilities = classify(data.chelsea())
    assert int(np.argmax(probabilities)) in range(281, 286)  # ImageNet cat classes
