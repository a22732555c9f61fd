"""Photo → ``Portrait``: find the face, then frame it for the renderer.

``find_face`` searches a shrunk copy (fast, and the detector works at 128 px anyway), then
runs FaceMesh again on a full-resolution crop around the face it keeps, so a small face in a
big photo gets landmarks as precise as its own pixels allow.

``crop_portrait`` frames the face in a square without re-detecting: the landmarks go through
the same offset and resize as the pixels (``scale_points``), so they stay exact.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, NoFaceError
from ..types import Portrait
from .image import load_image
from .landmarks import (
    HUMAN_FACE_SCORE,
    detect_in_region,
    face_box,
    face_centre,
    face_size,
    human_face_score,
    landmark_groups,
    scale_points,
    search_faces,
)

CROP_FACE_HEIGHTS = 2.6
"""Square side over face height: room for the hair, neck and head motion."""
MIN_CROP_FACE_HEIGHTS = 1.8
"""A crop may shrink down to this to stay inside a tight photo before it is padded."""
REFINE_FACE_SIZES = 2.5
"""The refinement crop's side over the face size: the detector's comfortable range."""
FULL_FRAME_MAX_SIDE = 1920
"""``full_frame`` keeps the photo's resolution up to this long side (1080p-class video)."""
SMALL_FACE_PX = 80
_MIN_DETECT_SIDE = 128


def find_face(
    image: str | Path | np.ndarray, *, detect_side: int = 1024, source: str | None = None
) -> Portrait:
    """The largest face in a photo (a path or an array) with its 478 landmarks.

    ``source`` names an array in messages; a path names itself. Raises ``ImageError`` for
    unreadable photos and ``NoFaceError`` when no face is found.
    """
    if detect_side < _MIN_DETECT_SIDE:
        raise InputError(f"detect_side must be at least {_MIN_DETECT_SIDE}, got {detect_side}")
    if isinstance(image, (str, Path)):
        source = str(image) if source is None else source
    pixels = load_image(image)
    name = source or "the image"
    faces = search_faces(pixels, detect_side=detect_side)
    if not faces:
        raise NoFaceError(
            f"no face found in {name}: use a photo with one clearly visible face, "
            "looking roughly at the camera"
        )
    landmarks = _refine(pixels, faces[0], detect_side)
    if human_face_score(pixels, landmarks) < HUMAN_FACE_SCORE:
        raise NoFaceError(
            f"no face found in {name}: what looks like a face there is not a person's "
            "(an animal?); use a photo with one clearly visible human face"
        )
    return Portrait(
        image=pixels,
        landmarks=landmarks,
        faces_found=len(faces),
        source=source or "",
        notes=_find_notes(len(faces), landmarks),
    )


def _refine(image: np.ndarray, coarse: np.ndarray, detect_side: int) -> np.ndarray:
    """Landmarks again from a crop centred on the face: the face fills the detector's view at
    up to full resolution. Keeps the coarse ones if the crop somehow loses the face."""
    height, width = image.shape[:2]
    cx, cy = face_centre(coarse)
    half = 0.5 * REFINE_FACE_SIZES * max(_box_sides(coarse))
    box = (
        max(0, int(cx - half)),
        max(0, int(cy - half)),
        min(width, int(np.ceil(cx + half))),
        min(height, int(np.ceil(cy + half))),
    )

    def distance(face: np.ndarray) -> float:
        return float(np.hypot(*(face_centre(face) - (cx, cy))))

    candidates = detect_in_region(image, box, detect_side)
    best = min(candidates, key=distance, default=None)
    if best is None or distance(best) > 0.5 * face_size(coarse):
        return coarse
    return best


def _box_sides(landmarks: np.ndarray) -> tuple[float, float]:
    x0, y0, x1, y1 = face_box(landmarks)
    return x1 - x0, y1 - y0


def _find_notes(faces_found: int, landmarks: np.ndarray) -> tuple[str, ...]:
    notes = []
    if faces_found > 1:
        notes.append(f"found {faces_found} faces; using the largest")
    height = face_height(landmarks)
    if height < SMALL_FACE_PX:
        notes.append(
            f"the face is only {height:.0f} pixels tall; a closer or larger photo will "
            "give a sharper video"
        )
    return tuple(notes)


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Iris centres (x, y), image-left eye first."""
    groups = landmark_groups()
    return (
        landmarks[groups.left_iris, :2].mean(axis=0),
        landmarks[groups.right_iris, :2].mean(axis=0),
    )


def _down_axis(landmarks: np.ndarray) -> np.ndarray:
    """Unit vector down the face, perpendicular to the eye line (independent of head roll)."""
    left, right = eye_centres(landmarks)
    across = (right - left) / np.hypot(*(right - left))
    return np.array([-across[1], across[0]])


def face_height(landmarks: np.ndarray) -> float:
    """Forehead-to-chin extent of the face oval along the face's own vertical axis."""
    along = landmarks[landmark_groups().oval, :2] @ _down_axis(landmarks)
    return float(np.ptp(along))


def face_anchor(landmarks: np.ndarray) -> np.ndarray:
    """The point framing centres on: halfway between the eyes' midpoint and the mouth."""
    left, right = eye_centres(landmarks)
    mouth = landmarks[landmark_groups().lips, :2].mean(axis=0)
    return 0.5 * ((left + right) / 2 + mouth)


def crop_portrait(portrait: Portrait, *, size: int = 512, full_frame: bool = False) -> Portrait:
    """The portrait framed for rendering, landmarks moved with the pixels (no re-detection).

    Square (``full_frame=False``): side ``CROP_FACE_HEIGHTS`` × the face height, centred on
    ``face_anchor``, resized to ``size``×``size``. Where the square would leave the photo it
    is first shifted back inside (the face then sits off-centre, but every pixel is real);
    if it is bigger than the photo it shrinks to the photo, down to
    ``MIN_CROP_FACE_HEIGHTS`` face heights; only then is the rest filled, centred on the
    face, by extending the photo past its edge (``_extended``: a mirror image of the edge,
    blurred more the farther out it reaches, as an out-of-focus background would be).

    ``full_frame=True`` keeps the whole photo at its resolution, shrunk to
    ``FULL_FRAME_MAX_SIDE`` on the long side if bigger, and with even width and height
    (video encoders need them); ``size`` is then only validated.
    """
    _check_size(size)
    if full_frame:
        return _full_frame(portrait)
    image, landmarks = portrait.image, portrait.landmarks
    height = face_height(landmarks)
    side = CROP_FACE_HEIGHTS * height
    fit = min(image.shape[:2])
    if side > fit:
        side = max(float(fit), MIN_CROP_FACE_HEIGHTS * height)
    side_px = max(2, round(side))
    x0, y0 = _crop_origin(face_anchor(landmarks), side_px, image.shape)
    crop = _cut(image, x0, y0, side_px)
    scale = size / side_px
    return replace(
        portrait,
        image=_resize(crop, size, size),
        landmarks=_moved(landmarks, (x0, y0), (scale, scale)),
    )


def _check_size(size: int) -> None:
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
        raise InputError(f"size must be a whole number of pixels, got {size!r}")
    if size % 2 or not 128 <= size <= 2048:
        raise InputError(f"size must be an even number from 128 to 2048, got {size}")


def _crop_origin(anchor: np.ndarray, side: int, shape: tuple[int, ...]) -> tuple[int, int]:
    """Top-left of the square: centred on the anchor, shifted inside the photo if it fits."""
    origin = []
    for centre, length in zip(anchor, (shape[1], shape[0]), strict=True):
        start = round(float(centre) - side / 2)
        if side <= length:
            start = min(max(start, 0), length - side)
        origin.append(start)
    return origin[0], origin[1]


def _cut(image: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """image[y0:y0+side, x0:x0+side], extended past the photo's edge where outside."""
    height, width = image.shape[:2]
    pads = (max(0, -y0), max(0, y0 + side - height), max(0, -x0), max(0, x0 + side - width))
    inside = image[max(y0, 0) : min(y0 + side, height), max(x0, 0) : min(x0 + side, width)]
    if not any(pads):
        return np.ascontiguousarray(inside)
    return _extended(inside, pads)


def _extended(image: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    """The image with (top, bottom, left, right) pixels added around it: the photo
    mirrored at its edge, blurred progressively with the distance from it. Repeating the
    edge pixels instead would draw streaks; a sharp mirror, a doubled shoulder."""
    top, bottom, left, right = pads
    mirrored = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    reach = max(pads)
    height, width = mirrored.shape[:2]
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    vertical = np.maximum(np.maximum(top - rows, 0), np.maximum(rows - (height - 1 - bottom), 0))
    across = np.maximum(np.maximum(left - cols, 0), np.maximum(cols - (width - 1 - right), 0))
    outside = np.maximum(vertical, across)  # pixels beyond the photo's edge, 0 inside it
    result = mirrored.astype(np.float32)
    for level in (0.25, 0.5, 1.0):
        blurred = cv2.GaussianBlur(mirrored, (0, 0), max(1.0, 0.35 * level * reach))
        weight = np.clip(outside / max(1.0, level * reach), 0.0, 1.0)[..., None]
        result += weight * (blurred.astype(np.float32) - result)
    return np.clip(result, 0, 255).astype(np.uint8)


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """INTER_AREA to shrink (no aliasing), INTER_CUBIC to enlarge (sharper than linear)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = width < image.shape[1] or height < image.shape[0]
    method = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=method)


def _moved(
    landmarks: np.ndarray, origin: tuple[float, float], scale: tuple[float, float]
) -> np.ndarray:
    """Landmarks after cropping at ``origin``, then resizing by ``scale`` = (sx, sy)."""
    offset = np.array([origin[0], origin[1], 0.0], dtype=np.float32)
    return scale_points(landmarks - offset, *scale)


def _full_frame(portrait: Portrait) -> Portrait:
    height, width = portrait.image.shape[:2]
    shrink = min(1.0, FULL_FRAME_MAX_SIDE / max(height, width))
    new_w = max(2, int(width * shrink) // 2 * 2)
    new_h = max(2, int(height * shrink) // 2 * 2)
    if shrink < 1.0:
        image = _resize(portrait.image, new_w, new_h)
        landmarks = scale_points(portrait.landmarks, new_w / width, new_h / height)
        notes = (*portrait.notes, f"downscaled from {width}×{height} to {new_w}×{new_h}")
    else:
        # Dropping an odd last row or column moves no pixel: the landmarks stay as they are.
        image = np.ascontiguousarray(portrait.image[:new_h, :new_w])
        landmarks, notes = portrait.landmarks.copy(), portrait.notes
    return replace(portrait, image=image, landmarks=landmarks, notes=notes)
