"""A dense image warp that moves chosen points exactly and everything else smoothly.

The warp is a thin-plate spline through the moving landmarks, evaluated on a coarse grid
over the head region. The landmarks' rest positions never change, so the spline's system is
solved once per avatar: each frame's grid of displacements is then one matrix product
(``WarpField.grid_displacement``). ``cv2.remap`` needs the inverse map (for every output
pixel, where to sample), which a few fixed-point steps on the coarse grid provide.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from threadpoolctl import ThreadpoolController


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """U(r) = r² log r, written on squared distances: ½ r² log r²."""
    with np.errstate(divide="ignore", invalid="ignore"):
        k = 0.5 * r2 * np.log(r2)
    return np.nan_to_num(k, nan=0.0, posinf=0.0, neginf=0.0)


def tps_operator(controls: np.ndarray, queries: np.ndarray, regularize: float = 1e-7) -> np.ndarray:
    """The matrix taking the controls' displacements (k×2) to the queries' (n×2).

    Points are in any consistent unit (face units keep the system well-conditioned).
    """
    k = len(controls)
    r2 = ((controls[:, None, :] - controls[None, :, :]) ** 2).sum(-1)
    system = np.zeros((k + 3, k + 3))
    system[:k, :k] = _tps_kernel(r2) + regularize * np.eye(k)
    system[:k, k] = 1.0
    system[:k, k + 1 :] = controls
    system[k, :k] = 1.0
    system[k + 1 :, :k] = controls.T
    inverse = np.linalg.inv(system)[:, :k]  # (k+3)×k: weights per unit displacement
    q2 = ((queries[:, None, :] - controls[None, :, :]) ** 2).sum(-1)
    basis = np.concatenate([_tps_kernel(q2), np.ones((len(queries), 1)), queries], axis=1)
    return (basis @ inverse).astype(np.float32)  # n×k


@dataclass(frozen=True)
class WarpField:
    """Everything about the warp of one avatar that does not change from frame to frame."""

    box: tuple[int, int, int, int]
    """x0, y0, x1, y1 of the head region in the image; nothing outside it ever changes."""
    operator: np.ndarray
    """(gh·gw)×k thin-plate operator from control displacements to grid displacements."""
    grid_shape: tuple[int, int]
    grid_step: float
    """Pixels between grid nodes along x and y. Node j sits at the centre of the j-th of
    ``gw`` equal cells across the box, where ``cv2.resize`` samples: upsampling the grid to
    the box is then one resize, ten times cheaper than a remap."""
    grid_mask: np.ndarray
    """gh×gw weights in [0, 1]: 1 on the face, fading to 0 at the box border."""
    pixel_x: np.ndarray
    """Box-sized absolute pixel coordinates (float32) of every pixel in the box."""
    pixel_y: np.ndarray


def build_warp_field(
    controls_px: np.ndarray,
    box: tuple[int, int, int, int],
    mask: np.ndarray,
    unit: float,
    step: float,
) -> WarpField:
    """Factor the warp for control points at ``controls_px`` (pixels) inside ``box``.

    ``mask`` is the box-sized soft weight of the motion; ``unit`` the face unit in pixels.
    """
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    gw, gh = max(2, round(width / step) + 1), max(2, round(height / step) + 1)
    gx = x0 + (np.arange(gw) + 0.5) * (width / gw) - 0.5
    gy = y0 + (np.arange(gh) + 0.5) * (height / gh) - 0.5
    nodes = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    origin = np.array([x0, y0], dtype=np.float64)
    operator = tps_operator((controls_px - origin) / unit, (nodes - origin) / unit)
    grid_mask = cv2.resize(mask.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)
    px, py = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return WarpField(
        box=box,
        operator=operator,
        grid_shape=(gh, gw),
        grid_step=width / gw,
        grid_mask=grid_mask,
        pixel_x=px + x0,
        pixel_y=py + y0,
    )


@functools.lru_cache(maxsize=1)
def _blas_pools() -> ThreadpoolController:
    return ThreadpoolController()


def _single_threaded_blas():
    """This product is small: on two threads OpenBLAS's helper then spins, taking the CPU
    the video encoder runs on while frames are rendered (measured: render+encode at 0.45
    of the encode-only rate with it, 0.67 without). The limit is process-wide while held."""
    return _blas_pools().limit(limits=1, user_api="blas")


def grid_displacement(field: WarpField, displacements_px: np.ndarray) -> np.ndarray:
    """Forward displacement (gh×gw×2, pixels) of the grid nodes for one frame."""
    gh, gw = field.grid_shape
    with _single_threaded_blas():
        forward = field.operator @ displacements_px.astype(np.float32)
    forward = forward.reshape(gh, gw, 2)
    return forward * field.grid_mask[..., None]


def inverse_on_grid(field: WarpField, forward: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Backward displacement b with x = y + b(y) solving x + d(x) = y at every grid node y.

    Newton steps with the forward map's Jacobian: plain fixed-point iteration stalls exactly
    where it matters, where the warp squeezes a region almost flat (lips closing over teeth,
    lids closing over an eye).
    """
    gh, gw = field.grid_shape
    step = field.grid_step
    to_grid = 1.0 / step
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    d_dy, d_dx = np.gradient(forward, step, axis=(0, 1))  # gh×gw×2 each
    # Jacobian of x ↦ x + d(x) as four channels: [1+∂dx/∂x, ∂dx/∂y, ∂dy/∂x, 1+∂dy/∂y]
    jacobian = np.stack(
        [1 + d_dx[..., 0], d_dy[..., 0], d_dx[..., 1], 1 + d_dy[..., 1]], axis=-1
    ).astype(np.float32)
    backward = -forward
    for _ in range(iterations):
        sx, sy = gx + backward[..., 0] * to_grid, gy + backward[..., 1] * to_grid
        d = cv2.remap(forward, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        j = cv2.remap(jacobian, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        residual = backward + d  # (x + d(x)) - y, with x = y + backward
        det = j[..., 0] * j[..., 3] - j[..., 1] * j[..., 2]
        det = np.where(np.abs(det) < 0.05, np.copysign(0.05, det), det)
        step_x = (j[..., 3] * residual[..., 0] - j[..., 1] * residual[..., 1]) / det
        step_y = (j[..., 0] * residual[..., 1] - j[..., 2] * residual[..., 0]) / det
        limit = 2.0 * step
        backward = backward - np.clip(np.stack([step_x, step_y], axis=-1), -limit, limit)
    return backward


def warp_image(image: np.ndarray, field: WarpField, backward_grid: np.ndarray) -> np.ndarray:
    """The head box of ``image`` resampled through the backward map (box-sized result)."""
    height, width = field.pixel_x.shape
    dense = cv2.resize(backward_grid, (width, height), interpolation=cv2.INTER_LINEAR)
    map_x = field.pixel_x + dense[..., 0]
    map_y = field.pixel_y + dense[..., 1]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def exact_warp(
    image: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    box: tuple[int, int, int, int],
    unit: float,
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """Warp the ``box`` of ``image`` so that each point at ``sources`` moves to ``targets``.

    Fits the thin-plate spline backwards (from where points land to where they came from)
    and evaluates it at every pixel, so it is exact even where a region is squeezed flat.
    Too slow for every frame of a whole face, it serves once-per-avatar work (closing a
    mouth that is open at rest) and small regions on a few frames (eyelids in a blink).
    The box border is pinned, so the result joins the untouched image seamlessly;
    ``weight`` (box-sized, 0..1) can fade the motion out further.
    """
    x0, y0, x1, y1 = box
    ring = _box_ring(box, spacing=max(4.0, unit / 4))
    controls = np.concatenate([targets, ring])
    offsets = np.concatenate([sources - targets, np.zeros_like(ring)])
    px, py = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    pixels = np.stack([px.ravel(), py.ravel()], axis=1)
    origin = np.array([x0, y0], dtype=np.float64)
    operator = tps_operator((controls - origin) / unit, (pixels - origin) / unit)
    backward = (operator @ offsets).reshape(y1 - y0, x1 - x0, 2).astype(np.float32)
    if weight is not None:
        backward *= weight[..., None]
    map_x = px.astype(np.float32) + backward[..., 0]
    map_y = py.astype(np.float32) + backward[..., 1]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _box_ring(box: tuple[int, int, int, int], spacing: float) -> np.ndarray:
    x0, y0, x1, y1 = box
    xs = np.linspace(x0, x1 - 1, max(2, int((x1 - x0) / spacing) + 1))
    ys = np.linspace(y0, y1 - 1, max(2, int((y1 - y0) / spacing) + 1))[1:-1]
    return np.concatenate(
        [
            np.stack([xs, np.full_like(xs, y0)], 1),
            np.stack([xs, np.full_like(xs, y1 - 1)], 1),
            np.stack([np.full_like(ys, x0), ys], 1),
            np.stack([np.full_like(ys, x1 - 1), ys], 1),
        ]
    )
