"""Putting a chosen mouth on a background frame.

The mouth's frame is aligned to the background by a similarity (rotation, scale, shift)
fitted on points that the mouth does not move (nose, inner eye corners, upper cheeks), its
colour matched to the background on the border of the region, and blended over a soft mask:
the union of both frames' lower faces, so neither chin is left behind as a ghost. Outside
the mask the background's pixels are returned untouched.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ..face.geometry import face_frame, face_parts

_RIGID = (1, 2, 4, 5, 6, 98, 327, 168, 195, 197, 133, 362, 50, 280, 205, 425)
"""Nose ridge and base, inner eye corners, upper cheeks: still while the mouth moves."""
_UNDER_NOSE = (98, 2, 327, 129, 358)
FEATHER = 0.07
"""Blur of the mask's edge, in eye distances."""
SHRINK = 0.04
"""The mask's outline is pulled in by this share towards its centre: its soft edge then
falls on the cheeks' skin rather than on whatever is behind the face."""
_MAX_COLOUR_SHIFT = 30.0


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """2×3 least-squares similarity taking ``source`` points (n×2) onto ``target``."""
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mean_s, target - mean_t
    a = float((s * t).sum())
    b = float((s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]).sum())
    norm = float((s**2).sum()) or 1.0
    c, d = a / norm, b / norm
    linear = np.array([[c, -d], [d, c]])
    return np.hstack([linear, (mean_t - linear @ mean_s)[:, None]]).astype(np.float32)


def transform(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return points[:, :2] @ matrix[:, :2].T + matrix[:, 2]


def alignment(source_landmarks: np.ndarray, target_landmarks: np.ndarray) -> np.ndarray:
    rigid = list(_RIGID)
    return similarity(source_landmarks[rigid, :2], target_landmarks[rigid, :2])


@functools.lru_cache(maxsize=1)
def _lower_face_points() -> tuple[np.ndarray, int]:
    return np.array(face_parts().oval + _UNDER_NOSE, dtype=np.intp), 4


def lower_face(landmarks: np.ndarray) -> np.ndarray:
    """The lower face's outline (convex, pixels): the face oval from the nose tip down,
    closed under the nose."""
    points, nose_tip = _lower_face_points()
    face = face_frame(landmarks)
    depth = face.to_face(landmarks[points])[:, 1]
    below = landmarks[points[depth >= face.to_face(landmarks[[nose_tip]])[0, 1] - 0.05], :2]
    return cv2.convexHull(below.astype(np.float32)).reshape(-1, 2)


def place_mouth(
    background: np.ndarray,
    background_landmarks: np.ndarray,
    source: np.ndarray,
    source_landmarks: np.ndarray,
) -> np.ndarray:
    """``background`` with the lower face of ``source`` placed over its own."""
    matrix = alignment(source_landmarks, background_landmarks)
    own = lower_face(background_landmarks)
    theirs = transform(lower_face(source_landmarks), matrix)
    unit = face_frame(background_landmarks).eye_distance
    height, width = background.shape[:2]
    margin = int(np.ceil(3 * FEATHER * unit)) + 2
    corners = np.vstack([own, theirs])
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - margin, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + margin + 1, (width, height))
    if x1 <= x0 or y1 <= y0:
        return background
    alpha = _mask((own, theirs), (x0, y0), (x1 - x0, y1 - y0), FEATHER * unit)
    shifted = matrix.copy()
    shifted[:, 2] -= (x0, y0)
    patch = cv2.warpAffine(
        source, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    ).astype(np.float32)
    behind = background[y0:y1, x0:x1].astype(np.float32)
    # OpenCV's arithmetic, not numpy's: numpy broadcasting a colour or a weight over the
    # three values of each pixel runs loops three long, six times slower here.
    patch = cv2.add(patch, (*map(float, _colour_shift(patch, behind, alpha)), 0.0))
    weight = cv2.merge([alpha, alpha, alpha])
    blended = cv2.add(behind, cv2.multiply(cv2.subtract(patch, behind), weight))
    out = background.copy()
    # Rounded and saturated to 8 bits; where the mask is 0 that is the background itself.
    out[y0:y1, x0:x1] = cv2.add(blended, (0.0, 0.0, 0.0, 0.0), dtype=cv2.CV_8U)
    return out


def _mask(outlines, origin, size, feather: float) -> np.ndarray:
    """Soft union of the outlines, each pulled in by ``SHRINK``; exactly 0 far outside."""
    mask = np.zeros((size[1], size[0]), np.float32)
    for outline in outlines:
        centre = outline.mean(axis=0)
        pulled = centre + (1 - SHRINK) * (outline - centre) - origin
        cv2.fillPoly(
            mask, [np.round(pulled * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2
        )
    mask = cv2.GaussianBlur(mask, (0, 0), max(feather, 0.8))
    mask[mask < 1 / 255] = 0.0
    return mask


def _colour_shift(patch: np.ndarray, behind: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Per-channel offset making the patch match the background where the blend hands
    over from one to the other (light and white balance drift through a clip)."""
    ring = ((alpha > 0.3) & (alpha < 0.9)).astype(np.uint8)
    if cv2.countNonZero(ring) < 16:
        return np.zeros(3, np.float32)
    shift = cv2.mean(cv2.subtract(behind, patch), mask=ring)[:3]
    return np.clip(shift, -_MAX_COLOUR_SHIFT, _MAX_COLOUR_SHIFT).astype(np.float32)
