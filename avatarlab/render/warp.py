"""The picture bent with the mesh: an exact piecewise-affine warp, evaluated on a grid.

``cv2.remap`` wants, for every output pixel, where to sample the photo. Inside each
triangle of the moved mesh that is one affine map, so the backward map is exact once we
know which moved triangle holds an output point. That is found by a guess (the triangle
under the point at rest, corrected once through its map and a raster of the rest mesh
made once per avatar) and a short walk across the moved mesh to the triangle that holds
it. Done on a coarse grid of nodes and upsampled with one ``cv2.resize``, it costs about
a millisecond per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face.mesh import affine_maps
from .mesh import WarpMesh

SETTLE_STEPS = 16


@dataclass(frozen=True)
class WarpGrid:
    """The nodes the backward map is solved at, and the box's pixel coordinates."""

    nodes: np.ndarray
    """(gh·gw)×2 absolute pixel coordinates of the nodes, row by row."""
    shape: tuple[int, int]
    """gh, gw. Node j sits at the centre of the j-th of ``gw`` equal cells across the box,
    where ``cv2.resize`` samples: upsampling the grid to the box is then one resize."""
    step: float
    """Pixels between nodes (across)."""
    pixels: np.ndarray
    """Box-sized h×w×2 absolute (x, y) pixel coordinates (float32) of every pixel in the box,
    the layout ``cv2.remap`` takes as one map."""


def build_grid(box: tuple[int, int, int, int], step: float) -> WarpGrid:
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    gw, gh = max(2, round(width / step) + 1), max(2, round(height / step) + 1)
    gx = x0 + (np.arange(gw) + 0.5) * (width / gw) - 0.5
    gy = y0 + (np.arange(gh) + 0.5) * (height / gh) - 0.5
    nodes = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    px, py = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    pixels = np.stack([px + x0, py + y0], axis=-1)
    return WarpGrid(nodes=nodes, shape=(gh, gw), step=width / gw, pixels=pixels)


def rest_triangle(mesh: WarpMesh, points: np.ndarray) -> np.ndarray:
    """The triangle under each rest-space point (-1 outside the mesh or the box)."""
    x0, y0, x1, y1 = mesh.box
    col = np.rint(points[:, 0]).astype(np.int64) - x0
    row = np.rint(points[:, 1]).astype(np.int64) - y0
    inside = (col >= 0) & (col < x1 - x0) & (row >= 0) & (row < y1 - y0)
    found = np.full(len(points), -1, np.int64)
    found[inside] = mesh.rest_ids[row[inside], col[inside]]
    return found


@dataclass(frozen=True)
class MovedMesh:
    """One frame's mesh: where its corners went, and each triangle's map back to rest."""

    corners: np.ndarray
    """t×3×2 pixel positions of each triangle's corners on this frame."""
    to_rest: np.ndarray
    """t×6: each triangle's affine map from this frame to rest, row-major 2×3."""
    from_rest: np.ndarray
    """t×6: the maps the other way."""


def move_mesh(mesh: WarpMesh, vertices: np.ndarray) -> MovedMesh:
    to_rest = affine_maps(mesh.rest, vertices, mesh.triangles)
    return MovedMesh(
        corners=vertices[mesh.triangles, :2],
        to_rest=to_rest.reshape(-1, 6),
        from_rest=_inverted(to_rest).reshape(-1, 6),
    )


def _inverted(maps: np.ndarray) -> np.ndarray:
    """n×2×3 affine maps inverted (the identity where a map is singular)."""
    a, b, c = maps[:, 0, 0], maps[:, 0, 1], maps[:, 0, 2]
    d, e, f = maps[:, 1, 0], maps[:, 1, 1], maps[:, 1, 2]
    det = a * e - b * d
    singular = np.abs(det) < 1e-12
    det = np.where(singular, 1.0, det)
    inverse = np.empty_like(maps)
    inverse[:, 0, 0], inverse[:, 0, 1] = e / det, -b / det
    inverse[:, 1, 0], inverse[:, 1, 1] = -d / det, a / det
    inverse[:, 0, 2] = -(inverse[:, 0, 0] * c + inverse[:, 0, 1] * f)
    inverse[:, 1, 2] = -(inverse[:, 1, 0] * c + inverse[:, 1, 1] * f)
    inverse[singular] = np.eye(2, 3)
    return inverse


def _apply(maps: np.ndarray, triangles: np.ndarray, points: np.ndarray) -> np.ndarray:
    m = maps[triangles]
    x, y = points[:, 0], points[:, 1]
    return np.stack([m[:, 0] * x + m[:, 1] * y + m[:, 2], m[:, 3] * x + m[:, 4] * y + m[:, 5]], 1)


def backward_points(
    mesh: WarpMesh, moved: MovedMesh, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For output points, where they come from at rest (n×2), and whether each was found
    inside a moved triangle (the rest lie off the mesh's outer edge, which never moves).

    The first guess is the point moved back by the displacement at its own place, and the
    rest triangle there; a walk across the moved mesh then settles every point in the
    triangle that holds it (see ``_settle``).
    """
    under = rest_triangle(mesh, points)
    # Moved back by the displacement at its own place: the rest triangle's forward map is
    # well shaped even where the moved one has flattened (closing lips).
    ahead = _apply(moved.from_rest, np.maximum(under, 0), points)
    guess = np.where(under[:, None] >= 0, 2 * points - ahead, points)
    solved = rest_triangle(mesh, guess)
    solved = np.where(solved >= 0, solved, under)
    solved, inside = _settle(mesh, moved, solved, points)
    # A point can miss where a triangle is a sliver at rest (the lips of a closed mouth,
    # which the raster hardly covers) and huge now: those search the slivers directly.
    lost = np.flatnonzero(~inside & (under >= 0))
    if len(lost):
        found = _locate(moved, mesh.slivers, points[lost])
        solved[lost] = np.where(found >= 0, found, solved[lost])
        inside[lost] = found >= 0
    source = points.copy()
    hit = inside & (solved >= 0)
    source[hit] = _apply(moved.to_rest, solved[hit], points[hit])
    return source, inside | (under < 0)


def _settle(
    mesh: WarpMesh, moved: MovedMesh, start: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """From each point's triangle guess, walk the moved mesh to the triangle holding it:
    step across the edge the point lies beyond (the most negative barycentric weight)
    until it lies inside. On a mesh that has not folded this always arrives; a miss is a
    guess off the mesh, or a walk that ran out of steps (``SETTLE_STEPS``)."""
    current = start.copy()
    inside = np.zeros(len(points), bool)
    active = np.flatnonzero(current >= 0)
    for _ in range(SETTLE_STEPS):
        if not len(active):
            break
        weights = _barycentric(moved.corners[current[active]], points[active])
        done = (weights >= -1e-6).all(axis=1)
        inside[active[done]] = True
        active, weights = active[~done], weights[~done]
        # Corner k's weight is negative: the point is beyond the edge opposite corner k,
        # which is edge (k+1, k+2), stored in ``neighbours`` as side (k+1) % 3.
        corner = np.argmin(weights, axis=1)
        across = mesh.neighbours[current[active], (corner + 1) % 3]
        current[active] = np.where(across >= 0, across, current[active])
        active = active[across >= 0]
    return current, inside


def _barycentric(corners: np.ndarray, points: np.ndarray) -> np.ndarray:
    """…×3 barycentric coordinates of each point in its triangle (corners …×3×2, points
    …×2; the leading shapes broadcast)."""
    a, b, c = corners[..., 0, :], corners[..., 1, :], corners[..., 2, :]
    e1, e2, rel = b - a, c - a, points - a
    det = e1[..., 0] * e2[..., 1] - e2[..., 0] * e1[..., 1]
    flat = np.abs(det) < 1e-9
    det = np.where(flat, 1.0, det)
    u = (rel[..., 0] * e2[..., 1] - e2[..., 0] * rel[..., 1]) / det
    v = (e1[..., 0] * rel[..., 1] - rel[..., 0] * e1[..., 1]) / det
    weights = np.stack([1 - u - v, u, v], axis=-1)
    # A triangle flattened to a line holds no point.
    weights[np.broadcast_to(flat, weights.shape[:-1])] = -np.inf
    return weights


def _locate(moved: MovedMesh, slivers: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The moved sliver triangle containing each point (-1 if none), all at once."""
    found = np.full(len(points), -1, np.int64)
    if not len(slivers):
        return found
    weights = _barycentric(moved.corners[slivers][None], points[:, None])  # n×s×3
    worst = weights.min(axis=2)
    best = np.argmax(worst, axis=1)
    hit = worst[np.arange(len(points)), best] >= -1e-6
    found[hit] = slivers[best[hit]]
    return found


def backward_grid(mesh: WarpMesh, grid: WarpGrid, moved: MovedMesh) -> np.ndarray:
    """gh×gw×2 backward displacement (rest point minus output point) at the grid's nodes."""
    source, _ = backward_points(mesh, moved, grid.nodes)
    gh, gw = grid.shape
    return (source - grid.nodes).reshape(gh, gw, 2).astype(np.float32)


def sample_map(grid: WarpGrid, backward: np.ndarray) -> np.ndarray:
    """Where each pixel of the box samples the photo: h×w×2 absolute (x, y), float32."""
    height, width = grid.pixels.shape[:2]
    dense = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
    dense += grid.pixels
    return dense


def warp_image(image: np.ndarray, grid: WarpGrid, backward: np.ndarray) -> np.ndarray:
    """The box of ``image`` resampled through the backward map (box-sized result)."""
    positions = sample_map(grid, backward)
    return cv2.remap(image, positions, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
