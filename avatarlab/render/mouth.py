"""The inside of the mouth: cavity, teeth and tongue, seen where the lips part.

The warp opens the lips (the mesh's strip between them stretches) but has nothing real to
show between them, so the interior is drawn on every frame inside the moved inner-lip
outline, with soft edges. The upper teeth hang from the skull and the lower teeth ride on
the jaw, so opening the lips reveals the upper teeth first and the lower ones only on a
wide jaw drop, as in life. Everything is shaded the way a mouth is lit: the teeth fade
towards the corners, where the dental arch turns away, the lips overhang and shadow the
interior, and the cavity darkens towards the throat. Colours come from the photo (the
teeth from its skin's highlights, the cavity and tongue from its lips), so a dim oil
painting gets dim, warm teeth, and a grey photo a grey mouth.

A portrait whose lips are apart at rest shows its own teeth: ``OwnTeeth`` keeps that part
of the photo, and frames show it moved with the skull (upper half) and the jaw (lower).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..easing import smoothstep as _smoothstep
from ..face.geometry import FaceParts, outline
from .deform import FrameGeometry

_SHIFT = 4  # fixed-point bits for sub-pixel polygon drawing
_ONE = 1 << _SHIFT
OWN_TEETH_GAP = 0.06
"""A rest gap (face units) from which the photo's own mouth interior is used."""
FEATHER = 0.012
"""Softness of the lips' inner edge over the interior (face units)."""
SEAM_DARKNESS = 0.5
"""The lips' parting line, as a share of the lips' colour."""
INNER_EDGE = 0.035
"""Width of the lips' inner edge band shown when they part (face units)."""
TEETH_IN_SHADOW = 0.78
"""Brightness of the upper teeth where they go under the upper lip, against their lit edge."""
TEETH_LIT_BAND = 0.07
"""Height above the biting edge (face units) over which the upper teeth come out of the
lip's shadow."""


@dataclass(frozen=True)
class OwnTeeth:
    """The photo's own mouth interior, cut out once."""

    origin: np.ndarray
    """(x, y) of the crop's top-left pixel in the photo."""
    upper: np.ndarray
    """float32 crop of the photo around the mouth with a fourth channel, the weight of
    the interior above the line between the lips (it goes with the skull)."""
    lower: np.ndarray
    """The same with the weight of the interior below that line (it goes with the jaw)."""


@dataclass(frozen=True)
class MouthLook:
    """Colours (RGB float32) and, where the photo has them, its own teeth."""

    cavity: np.ndarray
    teeth: np.ndarray
    tongue: np.ndarray
    lips: np.ndarray
    own: OwnTeeth | None = None


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    pixel = np.asarray(lab, np.float32).reshape(1, 1, 3)
    return cv2.cvtColor(pixel, cv2.COLOR_LAB2RGB).reshape(3) * 255.0


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    pixel = (np.asarray(rgb, np.float32) / 255.0).reshape(1, 1, 3)
    return cv2.cvtColor(pixel, cv2.COLOR_RGB2LAB).reshape(3)


def mouth_look(
    image: np.ndarray, landmarks: np.ndarray, parts: FaceParts, rest_gap: float, unit: float
) -> MouthLook:
    """Sample the photo once for the colours the interior is drawn in."""
    lips_mask = np.zeros(image.shape[:2], np.uint8)
    inner_mask = np.zeros_like(lips_mask)
    outer = outline(landmarks, parts.outer_lips)
    inner = outline(landmarks, parts.inner_lips)
    cv2.fillPoly(lips_mask, [np.round(outer).astype(np.int32)], 1)
    cv2.fillPoly(inner_mask, [np.round(inner).astype(np.int32)], 1)
    lip_pixels = image[(lips_mask > 0) & (inner_mask == 0)].reshape(-1, 3)
    lips = np.median(lip_pixels, axis=0) if len(lip_pixels) else np.array([150.0, 90, 90])
    skin, highlight = _skin_colours(image, landmarks, parts, lips_mask, unit)
    skin_lab = rgb_to_lab(skin)
    # Ivory, about as bright as the skin's highlights, warmed by the picture's own light.
    teeth = lab_to_rgb(
        [
            np.clip(rgb_to_lab(highlight)[0] + 4.0, 40.0, 90.0),
            0.1 * skin_lab[1] + 1.0,
            max(9.0, 0.45 * skin_lab[2] + 3.0),
        ]
    )
    brightness = skin_lab[0] / 70.0
    colours = {
        "cavity": lips * 0.22,
        "teeth": teeth,
        "tongue": 0.55 * lips + 0.45 * np.array([170.0, 70.0, 78.0]) * brightness,
        "lips": lips,
    }
    if float(np.ptp(lips)) / max(float(lips.mean()), 1.0) < 0.05:  # a grey photo
        colours = {k: np.full(3, float(np.mean(v))) for k, v in colours.items()}
    shows_teeth = rest_gap > OWN_TEETH_GAP and _teeth_share(image, inner_mask, lips) > 0.3
    own = _own_teeth(image, landmarks, parts, inner) if shows_teeth else None
    if own is not None:  # teeth drawn beside the photo's own must match them
        colours["teeth"] = _own_teeth_colour(image, inner_mask, lips)
    return MouthLook(**{k: np.asarray(v, np.float32) for k, v in colours.items()}, own=own)


def _teeth_share(image: np.ndarray, inside: np.ndarray, lips: np.ndarray) -> float:
    """Share of the mouth's inside that is teeth: brighter than the lips and greyer."""
    pixels = image[inside > 0].reshape(-1, 3).astype(np.float32)
    if len(pixels) < 20:
        return 0.0
    bright = pixels.mean(axis=1) > float(np.mean(lips)) + 15.0
    grey = np.ptp(pixels, axis=1) < 0.6 * max(float(np.ptp(lips)), 1.0)
    return float((bright & grey).mean())


def _own_teeth_colour(image: np.ndarray, inside: np.ndarray, lips: np.ndarray) -> np.ndarray:
    pixels = image[inside > 0].reshape(-1, 3).astype(np.float32)
    bright = pixels.mean(axis=1) > float(np.mean(lips)) + 15.0
    return np.median(pixels[bright], axis=0) * 0.92


def _skin_colours(
    image: np.ndarray, landmarks: np.ndarray, parts: FaceParts, lips_mask: np.ndarray, unit: float
) -> tuple[np.ndarray, np.ndarray]:
    """The median colour of the cheeks and chin (the face outline below the nose, lips cut
    out), and of their brightest tenth."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(parts.oval), :2]).astype(np.int32)], 1)
    grow = max(1, round(0.1 * unit))
    mask[cv2.dilate(lips_mask, np.ones((2 * grow + 1,) * 2, np.uint8)) > 0] = 0
    nose_y = landmarks[list(parts.nose), 1].max()
    mask[: max(0, int(nose_y - 0.2 * unit))] = 0
    pixels = image[mask > 0].reshape(-1, 3).astype(np.float32)
    if len(pixels) < 10:
        return np.array([200.0, 160.0, 140.0]), np.array([230.0, 200.0, 185.0])
    luminance = pixels @ np.array([0.3, 0.59, 0.11], np.float32)
    bright = pixels[luminance >= np.percentile(luminance, 90)]
    return np.median(pixels, axis=0), np.median(bright, axis=0)


def _own_teeth(
    image: np.ndarray, landmarks: np.ndarray, parts: FaceParts, inner: np.ndarray
) -> OwnTeeth:
    lo = np.maximum(np.floor(inner.min(axis=0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(inner.max(axis=0)).astype(int) + 3, (image.shape[1], image.shape[0]))
    crop = image[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float32)
    drawn = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(drawn, [_fixed(inner, lo)], 255, cv2.LINE_AA, _SHIFT)
    # Soft-edged, so the photo's teeth fade into the drawn mouth around them.
    mask = cv2.GaussianBlur(drawn.astype(np.float32) / 255.0, (0, 0), 1.2)
    upper = landmarks[list(parts.inner_lips.upper), :2]
    lower = landmarks[list(parts.inner_lips.lower), :2]
    # The bite: half way between the lips, across the mouth.
    order_u, order_l = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
    xs = np.arange(lo[0], hi[0], dtype=np.float64)
    middle = 0.5 * (
        np.interp(xs, upper[order_u, 0], upper[order_u, 1])
        + np.interp(xs, lower[order_l, 0], lower[order_l, 1])
    )
    ys = np.arange(lo[1], hi[1], dtype=np.float64)[:, None]
    above = np.clip(0.5 - (ys - middle[None]) / 2.0, 0.0, 1.0).astype(np.float32)
    return OwnTeeth(
        origin=lo.astype(np.float64),
        upper=np.dstack([crop, mask * above]),
        lower=np.dstack([crop, mask * (1 - above)]),
    )


def _fixed(points: np.ndarray, origin: np.ndarray) -> np.ndarray:
    return np.round((points - origin) * _ONE).astype(np.int32)


def paint_mouth(
    image: np.ndarray,
    geometry: FrameGeometry,
    look: MouthLook,
    unit: float,
    tongue_tip: float,
) -> None:
    """Paint the mouth interior into ``image`` (in place) inside the inner-lip outline,
    and the lips' inner edge around it."""
    outline = geometry.inner_lips
    height, width = image.shape[:2]
    inner_margin = max(3, int(np.ceil(3 * FEATHER * unit)) + 2)  # the feathered edge
    band_margin = inner_margin + int(np.ceil(2.5 * INNER_EDGE * unit))  # the lips' edge
    lo, hi = _box(outline, band_margin, width, height)
    inner_lo, inner_hi = _box(outline, inner_margin, width, height)
    if inner_hi[1] - inner_lo[1] < 3 or inner_hi[0] - inner_lo[0] < 3:
        return
    origin = inner_lo.astype(np.float64)
    shape = (inner_hi[1] - inner_lo[1], inner_hi[0] - inner_lo[0])
    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [_fixed(outline, origin)], 255, cv2.LINE_AA, _SHIFT)
    alpha = cv2.GaussianBlur(inside.astype(np.float32) / 255.0, (0, 0), max(0.5, FEATHER * unit))
    # Where the lips are really apart (the opening is wider than a few pixels) the inside
    # shows, teeth and all; where they (nearly) meet, only the line of their parting does:
    # teeth there would draw a bright line.
    wide = cv2.morphologyEx(inside, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    visible = cv2.GaussianBlur(wide.astype(np.float32) / 255.0, (0, 0), 1.0)
    # Closed lips squeeze what the photo had between them into a hair-thin seam: drawn at
    # least a pixel and a half wide, as the line where lips meet.
    seam = cv2.GaussianBlur(
        cv2.dilate(inside, np.ones((2, 2), np.uint8)).astype(np.float32) / 255.0, (0, 0), 0.6
    )
    alpha = np.maximum(alpha, 0.85 * seam * (1.0 - visible))
    if alpha.max() < 0.02:
        return
    # Where the lips (nearly) meet, the line between them is dark lip, not the black of
    # an open mouth.
    seam_colour = _planar(look.lips * SEAM_DARKNESS)
    if visible.max() > 0:
        canvas = _interior(geometry, look, origin, shape, unit, tongue_tip, visible)
        if look.own is not None:
            _own_interior(canvas, geometry, look.own, origin, visible)
        _lip_shadow(canvas, inside, unit)
        canvas += (1.0 - visible) * (seam_colour - canvas)
    else:  # the lips meet all along: nothing of the inside shows
        canvas = np.broadcast_to(seam_colour, (3, *shape))
    box = image[lo[1] : hi[1], lo[0] : hi[0]]
    region = np.stack(cv2.split(box)).astype(np.float32)
    # A mouth open in the photo has teeth right against its lips' inner edges (closer than
    # the landmarks know): closing it gathers them into the lips, and the band covers them.
    strength = 1.0 if look.own is not None else float(visible.max())
    opening = np.zeros(region.shape[1:], np.uint8)
    offset = inner_lo - lo
    opening[offset[1] : offset[1] + shape[0], offset[0] : offset[0] + shape[1]] = inside
    _inner_lip_edge(region, opening, look.lips, unit, strength)
    under = region[:, offset[1] : offset[1] + shape[0], offset[0] : offset[0] + shape[1]]
    under *= 1 - alpha
    under += alpha * canvas
    box[:] = cv2.merge(list(np.clip(region, 0, 255).astype(np.uint8)))


def _planar(colour: np.ndarray) -> np.ndarray:
    """An RGB colour shaped to scale planes of pixels, channel by channel.

    The mouth is painted a colour plane at a time (3×h×w), not pixel by pixel (h×w×3):
    numpy's loops then run along rows, not over three values at a time, and on a mouth's
    few thousand pixels every step of the painting takes a sixth of the time."""
    return np.asarray(colour, np.float32).reshape(3, 1, 1)


def _box(points: np.ndarray, margin: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-left and bottom-right (exclusive) pixel of the points' box grown by ``margin``,
    kept inside the image."""
    xs, ys = points[:, 0], points[:, 1]
    lo = (max(math.floor(xs.min()) - margin, 0), max(math.floor(ys.min()) - margin, 0))
    right, bottom = math.ceil(xs.max()) + margin + 1, math.ceil(ys.max()) + margin + 1
    return np.array(lo), np.array((min(right, width), min(bottom, height)))


def _mouth_axes(geometry: FrameGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The opening's centre, the unit vectors along and down the mouth, its half length."""
    edge = geometry.upper_teeth_edge
    left, right = edge[0], edge[-1]
    along = right - left
    half = 0.5 * float(np.hypot(*along))
    along = along / max(2 * half, 1e-9)
    down = np.array([-along[1], along[0]])
    return 0.5 * (left + right), along, down, max(half, 1.0)


def _interior(
    geometry: FrameGeometry,
    look: MouthLook,
    origin: np.ndarray,
    shape: tuple[int, int],
    unit: float,
    tongue_tip: float,
    visible: np.ndarray,
) -> np.ndarray:
    """The drawn inside of the mouth. Every pixel is a mix of three colours, the cavity's,
    the tongue's and the teeth's: the shading works on each colour's share (one value a
    pixel) and the colours are mixed once at the end, a third of the arithmetic of
    shading the colour image itself."""
    height, width = shape
    centre, along, down, half = _mouth_axes(geometry)
    xs = np.arange(width, dtype=np.float32) + np.float32(origin[0] - centre[0])
    ys = np.arange(height, dtype=np.float32) + np.float32(origin[1] - centre[1])

    def ramp(axis: np.ndarray, step: float, start: float = 0.0) -> np.ndarray:
        """Every pixel's distance from the centre along ``axis`` in steps of ``step``
        pixels, less ``start``: a row plus a column, one pass over the box."""
        a = (axis / step).astype(np.float32)
        return (xs * a[0])[None, :] + (ys * a[1] - np.float32(start))[:, None]

    across = ramp(along, half)  # -1 … 1
    across2 = across * across
    # Depth below the teeth, in face units, enters every shade only through ramps
    # ((depth - start) / width); each is worked out directly.
    # The cavity: darkest deep inside, a little lighter towards the corners and the lips.
    throat_depth = ramp(down, 0.18 * unit, 0.15 / 0.18)
    throat = np.exp(-2.0 * across2 - throat_depth * throat_depth)
    cavity = 1.0 - 0.45 * throat
    upper, lower = geometry.upper_teeth_edge, geometry.lower_teeth_edge
    # The tongue lies on the floor of the mouth, its back rising a little above the lower
    # teeth; lit from the front, darker further in.
    tongue_top = _depth_of(lower, centre, down, unit) - 0.1
    spread = across2 * np.float32(1 / 0.8**2)
    body = 0.85 * _smoothstep(ramp(down, 0.08 * unit, tongue_top / 0.08)) * np.exp(-spread * spread)
    lit = 0.55 + 0.45 * _smoothstep(ramp(down, 0.2 * unit, tongue_top / 0.2))
    cavity *= 1.0 - body
    tongue = body * lit * 0.75
    if tongue_tip > 0.05:  # th, l: the tip rises behind the upper teeth
        tip_depth = ramp(down, 0.05 * unit, 0.02 / 0.05)
        tip = np.exp(across2 * np.float32(-1 / 0.35**2) - tip_depth * tip_depth) * tongue_tip
        cavity *= 1.0 - tip
        tongue += tip * (1.0 - tongue)
    # The dental arch turns away towards the corners: the teeth there are in shadow.
    across_shade = (1.0 - 0.25 * across2) * (
        1.0 - 0.65 * _smoothstep((np.abs(across) - 0.45) / 0.55)
    )
    # Each row is brightest across its middle and a little translucent at its edge; the
    # upper row lies in the upper lip's shadow, darkest where it disappears under the lip.
    edge_depth = _depth_of(upper, centre, down, unit)
    crown = 1.0 - 0.22 * _smoothstep(ramp(down, 0.03 * unit, (edge_depth - 0.03) / 0.03))
    under_lip = TEETH_IN_SHADOW + (1.0 - TEETH_IN_SHADOW) * _smoothstep(
        ramp(down, TEETH_LIT_BAND * unit, (edge_depth - TEETH_LIT_BAND) / TEETH_LIT_BAND)
    )
    shade = across_shade * crown * under_lip * visible
    shares = np.empty((3, height, width), np.float32)  # cavity, tongue, teeth
    shares[0], shares[1], shares[2] = cavity, tongue, 0.0
    lower_band = lower + down * 0.18 * unit
    _teeth_band(shares, lower, lower_band, origin, 0.7, shade, unit)
    _teeth_band(shares, upper - down * 0.35 * unit, upper, origin, 1.0, shade, unit)
    colours = np.stack([look.cavity, look.tongue, look.teeth]).astype(np.float32)
    return (colours.T @ shares.reshape(3, -1)).reshape(3, height, width)


def _depth_of(edge: np.ndarray, centre: np.ndarray, down: np.ndarray, unit: float) -> float:
    return float((edge @ down).mean() - centre @ down) / unit


def _teeth_band(
    shares: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    origin: np.ndarray,
    brightness: float,
    shade: np.ndarray,
    unit: float,
) -> None:
    """A row of teeth between two left→right curves: one soft-edged shape, shaded across
    (no lines between teeth: at video size they read as a keyboard, not as teeth), laid
    over the cavity and tongue (``shares``, 3×h×w, see ``_interior``). Worked out only
    around the row: beyond its blur's reach the weight is zero."""
    height, width = shade.shape
    sigma = max(0.7, 0.018 * unit)
    reach = int(np.ceil(4 * sigma)) + 2  # OpenCV's kernel radius for sigma is 4 sigma
    polygon = np.concatenate([top, bottom[::-1]])
    lo, hi = _box(polygon - origin, reach, width, height)
    if hi[0] <= lo[0] or hi[1] <= lo[1]:
        return
    rows, columns = slice(lo[1], hi[1]), slice(lo[0], hi[0])
    mask = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
    cv2.fillPoly(mask, [_fixed(polygon, origin + lo)], 255, cv2.LINE_AA, _SHIFT)
    if not mask.any():
        return
    weight = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), sigma)
    shade_near = shade[rows, columns]
    weight *= np.minimum(np.maximum(shade_near * 4.0, 0.0), 1.0)  # hidden where the lips meet
    shares[:, rows, columns] *= 1.0 - weight
    shares[2, rows, columns] += weight * shade_near * brightness


def _own_interior(
    canvas: np.ndarray,
    geometry: FrameGeometry,
    own: OwnTeeth,
    origin: np.ndarray,
    visible: np.ndarray,
) -> None:
    """Lay the photo's own upper teeth where the skull took them, and its lower teeth
    where the jaw did, over the drawn interior (3×h×w): each layer (colour and weight,
    four channels) shifted in one ``warpAffine``."""
    height, width = canvas.shape[1:]
    for layer, shift in ((own.upper, geometry.skull_shift), (own.lower, geometry.jaw_shift)):
        dx = float(own.origin[0] + shift[0] - origin[0])
        dy = float(own.origin[1] + shift[1] - origin[1])
        moved = cv2.warpAffine(
            layer, np.float32([[1, 0, dx], [0, 1, dy]]), (width, height), flags=cv2.INTER_LINEAR
        )
        *colour, weight = cv2.split(moved)
        canvas += (weight * visible) * (np.stack(colour) - canvas)


def _inner_lip_edge(
    region: np.ndarray, inside: np.ndarray, lips: np.ndarray, unit: float, openness: float
) -> None:
    """Where the lips part, their inner edge shows: a band of slightly darker lip colour
    along the opening. It also covers what the landmarks left of the photo's own seam (a
    dark line or a glimpse of teeth a pixel off the lips' outline), which the opening
    would otherwise carry along and stretch."""
    if openness <= 0:
        return
    width = max(1.0, INNER_EDGE * unit)
    ring = cv2.dilate(
        inside,
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)),
        iterations=max(1, round(width)),
    )
    band = cv2.GaussianBlur((ring > 0).astype(np.float32), (0, 0), 0.6 * width)
    band *= (inside == 0) * 0.75 * openness
    region += band * (_planar(lips * 0.82) - region)


def _lip_shadow(canvas: np.ndarray, inside: np.ndarray, unit: float) -> None:
    """Darken towards the lips: they overhang the interior and cast a soft shadow."""
    depth = cv2.GaussianBlur(inside.astype(np.float32) / 255.0, (0, 0), max(0.8, 0.03 * unit))
    canvas *= 0.6 + 0.4 * np.clip(2.0 * depth - 0.2, 0.0, 1.0)
