"""Where closed lips really meet: MediaPipe's inner-lip points snapped to the photo's seam.

On a closed mouth MediaPipe puts the inner lips a pixel or two off the dark line where the
lips meet, more so on paintings and at the corners. Opening the mouth then carries a strip
of that line (or of teeth glimpsed through it) along with one lip and stretches it into a
dark loop. The seam is the darkest line between the lips: each inner-lip point is moved
along the face's vertical axis to the darkest place within ``SEARCH`` of it, the moves are
smoothed along the mouth, and both lips take the same line.
"""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import face_frame, face_parts, lip_gap, outline

SEARCH = 0.05
"""How far (eye distances) above and below each inner-lip point the seam is looked for."""
CLOSED_BELOW = 0.04
"""Only mouths whose lips are this close (eye distances) at rest are treated as closed."""


def snap_lip_seam(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Landmarks with a closed mouth's inner lips moved onto its seam (others unchanged)."""
    if lip_gap(landmarks) > CLOSED_BELOW:
        return landmarks
    frame = face_frame(landmarks)
    lips = face_parts().inner_lips
    upper, lower = list(lips.upper[1:-1]), list(lips.lower[1:-1])
    gray = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
    steps = np.linspace(-SEARCH, SEARCH, 21)
    result = landmarks.copy()
    for chain in (upper, lower):
        points = landmarks[chain, :2].astype(np.float64)
        offsets = steps[None, :, None] * frame.eye_distance * frame.y_axis[None, None, :]
        samples = (points[:, None, :] + offsets).astype(np.float32)  # n×steps×2
        values = cv2.remap(gray, samples[..., 0], samples[..., 1], cv2.INTER_LINEAR)
        # Prefer the nearer of two equally dark places: a gentle pull towards no move.
        values = values + 8.0 * np.abs(steps)[None, :] / SEARCH
        moves = steps[np.argmin(values, axis=1)]
        moves = np.convolve(np.pad(moves, 1, mode="edge"), np.ones(3) / 3, mode="valid")
        result[chain, :2] += (moves[:, None] * frame.eye_distance * frame.y_axis).astype(
            result.dtype
        )
    return result


EDGE_BAND = 0.06
"""How far outside MediaPipe's inner-lip outline (eye distances) the photo's teeth may
still show."""


def mouth_showing_on_lips(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Boolean mask of the pixels on an open mouth's lips, next to their inner outline,
    that show the mouth's inside rather than lip: teeth (brighter than the lips) or the
    dark behind them. Empty for a closed mouth."""
    mask = np.zeros(image.shape[:2], bool)
    if lip_gap(landmarks) <= CLOSED_BELOW:
        return mask
    parts = face_parts()
    frame = face_frame(landmarks)
    inner = outline(landmarks, parts.inner_lips)
    outer = outline(landmarks, parts.outer_lips)
    lips = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(outer).astype(np.int32)], 1)
    mouth = np.zeros_like(lips)
    cv2.fillPoly(mouth, [np.round(inner).astype(np.int32)], 1)
    reach = max(1, round(EDGE_BAND * frame.eye_distance))
    near = cv2.dilate(mouth, np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
    band = (lips > 0) & (mouth == 0) & near
    deep_lip = (lips > 0) & ~near
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    inside = cv2.erode(mouth, np.ones((3, 3), np.uint8)) > 0
    if not inside.any() or not deep_lip.any():
        return mask
    lip_l = float(np.median(lab[deep_lip][:, 0]))
    lightness = lab[inside][:, 0]
    teeth_l, dark_l = float(np.percentile(lightness, 80)), float(np.percentile(lightness, 10))
    brighter = lab[..., 0] > lip_l + 0.5 * max(teeth_l - lip_l, 4.0)
    darker = lab[..., 0] < dark_l + 0.35 * max(lip_l - dark_l, 4.0)
    # Upper teeth show under the upper lip; on the lower lip brightness is its own shine.
    ys = np.arange(image.shape[0], dtype=np.float64)[:, None, None]
    xs = np.arange(image.shape[1], dtype=np.float64)[None, :, None]
    offset = np.concatenate([xs.repeat(image.shape[0], 0), ys.repeat(image.shape[1], 1)], axis=2)
    rel = offset - frame.origin
    across, below = rel @ frame.x_axis, rel @ frame.y_axis
    face = frame.to_face(landmarks) * frame.eye_distance
    up, down = list(parts.inner_lips.upper), list(parts.inner_lips.lower)
    order_u, order_d = np.argsort(face[up, 0]), np.argsort(face[down, 0])
    middle = 0.5 * (
        np.interp(across, face[up][order_u, 0], face[up][order_u, 1])
        + np.interp(across, face[down][order_d, 0], face[down][order_d, 1])
    )
    upper_lip = below < middle
    # Only what joins the mouth's inside.
    showing = band & ((brighter & upper_lip) | darker)
    _, labels = cv2.connectedComponents((showing | (mouth > 0)).astype(np.uint8), connectivity=8)
    joined = np.unique(labels[mouth > 0])
    return showing & np.isin(labels, joined[joined > 0])


def clear_lips(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """An open mouth's photo with its inside, and what of it shows on the lips, painted
    over with lip from around it (OpenCV's Telea inpainting): the picture frames bring
    together into closed lips. Bringing lips together squeezes what lay between them into
    a seam, and between two nodes of a coarse warp grid a seam's pixels are sampled from
    anywhere between the two lips: from lip, they read as lips meeting; from teeth, as a
    pale band. (The teeth an open frame shows come from the untouched photo.) A closed
    mouth's photo is returned as it is."""
    if lip_gap(landmarks) <= CLOSED_BELOW:
        return image
    mask = mouth_showing_on_lips(image, landmarks).astype(np.uint8)
    inner = outline(landmarks, face_parts().inner_lips)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    return cv2.inpaint(image, mask, 3, cv2.INPAINT_TELEA)
