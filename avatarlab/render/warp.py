"""The picture bent with the mesh: an exact piecewise-affine warp, evaluated on a grid.

``cv2.remap`` wants, for every output pixel, where to sample the photo. Inside each
triangle of the moved mesh that is one affine map, so the backward map is exact once we
know which moved triangle holds an output point. That is found by a walk across the moved
mesh to the triangle that holds it, from the triangle that held it on the last frame (on
a first frame, from a guess: the triangle under the point at rest, corrected once through
its map and a raster of the rest mesh made once per avatar). Done on a coarse grid of
nodes and upsampled with one ``cv2.resize``, it costs about half a millisecond per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

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
    under: np.ndarray
    """The rest triangle holding each node (-1 off the mesh)."""


def build_grid(mesh: WarpMesh, step: float) -> WarpGrid:
    """Nodes about ``step`` pixels apart over the mesh's box."""
    x0, y0, x1, y1 = mesh.box
    width, height = x1 - x0, y1 - y0
    gw, gh = max(2, round(width / step) + 1), max(2, round(height / step) + 1)
    gx = x0 + (np.arange(gw) + 0.5) * (width / gw) - 0.5
    gy = y0 + (np.arange(gh) + 0.5) * (height / gh) - 0.5
    nodes = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    px, py = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    pixels = np.stack([px + x0, py + y0], axis=-1)
    return WarpGrid(
        nodes=nodes,
        shape=(gh, gw),
        step=width / gw,
        pixels=pixels,
        under=backward_points(mesh, move_mesh(mesh, mesh.rest), nodes).holders,
    )


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
    """One frame's mesh, made to tell quickly where in which triangle a point lies."""

    corners: np.ndarray
    """t×3×2 pixel positions of each triangle's corners on this frame."""
    to_weights: np.ndarray
    """6×t: each triangle's map from a point to its weights there (``_barycentric_maps``)."""
    flat: np.ndarray
    """Per triangle: flattened to a line on this frame, so holding no point."""


def move_mesh(mesh: WarpMesh, vertices: np.ndarray) -> MovedMesh:
    corners = np.take(vertices, mesh.triangles, axis=0)[..., :2].astype(np.float64)
    to_weights, flat = _barycentric_maps(corners)
    return MovedMesh(corners=corners, to_weights=to_weights, flat=flat)


# Points, weights and maps are handled a quantity per row (2×n, 3×n, 6×t) in what
# follows: numpy then works on contiguous rows, twice as fast on these short arrays.


def _barycentric_maps(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For n triangles (n×3×2 corners), the maps m (6×n) that give a point's weights in
    each: with dx, dy its offset from the first corner (at m4, m5), the second and third
    corners weigh u = m0·dx + m1·dy and v = m2·dx + m3·dy, the first 1 - u - v. Also
    which triangles are flat (no map)."""
    x, y = corners[..., 0].T, corners[..., 1].T  # 3×n each
    e1x, e1y, e2x, e2y = x[1] - x[0], y[1] - y[0], x[2] - x[0], y[2] - y[0]
    det = e1x * e2y - e2x * e1y
    flat = np.abs(det) < 1e-9
    inverse = 1.0 / np.where(flat, 1.0, det)
    maps = np.empty((6, len(det)))
    maps[0], maps[1] = e2y * inverse, -e2x * inverse
    maps[2], maps[3] = -e1y * inverse, e1x * inverse
    maps[4], maps[5] = x[0], y[0]
    return maps, flat


def _weights(maps: np.ndarray, flat: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """3×… weights of the three corners at each point (maps 6×…, flat …, points 2×…,
    broadcast); a flat triangle's are all -inf: it holds no point."""
    dx, dy = xy[0] - maps[4], xy[1] - maps[5]
    u = maps[0] * dx + maps[1] * dy
    v = maps[2] * dx + maps[3] * dy
    weights = np.stack([1 - u - v, u, v])
    if flat.any():
        weights[:, np.broadcast_to(flat, weights.shape[1:])] = -np.inf
    return weights


def _placed(weights: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """n×2: the points with these weights (3×n) in these triangles (n×3×2)."""
    return np.einsum("kn,nkd->nd", weights, corners)


@dataclass(frozen=True)
class Backward:
    """Output points traced back to rest."""

    source: np.ndarray
    """n×2: where each point comes from at rest (itself off the mesh, which never moves
    at its outer edge)."""
    holders: np.ndarray
    """The moved triangle found holding each point (-1 where none): a good ``start`` for
    the next frame, whose mesh has hardly moved."""


def backward_points(
    mesh: WarpMesh,
    moved: MovedMesh,
    points: np.ndarray,
    under: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> Backward:
    """Trace output points (n×2) back to where they come from at rest: a point has the
    same weights in its moved triangle as its source has in that triangle at rest.

    ``under`` is the rest triangle under each point (``rest_triangle``, worked out here
    when not given). The walk across the moved mesh (see ``_settle``) starts from
    ``start`` (the triangles holding the points on the last frame) where given, else from
    the point moved back by the displacement at its own place, and the rest triangle there.
    """
    xy = np.ascontiguousarray(points.T, dtype=np.float64)
    if under is None:
        under = rest_triangle(mesh, points)
    if start is None:
        start = _first_guess(mesh, moved, points, xy, under)
    else:
        start = np.where(start >= 0, start, under)
    solved, weights = _settle(mesh, moved, start, xy)
    # A point can miss where a triangle is a sliver at rest (the lips of a closed mouth,
    # which the raster hardly covers) and huge now: those search the slivers directly.
    lost = np.flatnonzero(np.isnan(weights[0]) & (under >= 0))
    if len(lost):
        solved[lost], weights[:, lost] = _locate(moved, mesh.slivers, xy[:, lost])
    hit = np.flatnonzero(~np.isnan(weights[0]))
    source = points.copy()
    source[hit] = _placed(weights[:, hit], np.take(mesh.corners, solved[hit], axis=0))
    holders = np.full(len(points), -1, np.int64)
    holders[hit] = solved[hit]
    return Backward(source=source, holders=holders)


def _first_guess(
    mesh: WarpMesh, moved: MovedMesh, points: np.ndarray, xy: np.ndarray, under: np.ndarray
) -> np.ndarray:
    """The triangle under each point moved back by the displacement at its own place: the
    rest triangle's forward map is well shaped even where the moved one has flattened
    (closing lips)."""
    known = np.flatnonzero(under >= 0)
    triangles = under[known]
    maps, flat = _barycentric_maps(mesh.corners[triangles])
    ahead = _placed(_weights(maps, flat, xy[:, known]), moved.corners[triangles])
    guess = points.copy()
    guess[known[~flat]] = 2 * points[known[~flat]] - ahead[~flat]
    solved = rest_triangle(mesh, guess)
    return np.where(solved >= 0, solved, under)


def _settle(
    mesh: WarpMesh, moved: MovedMesh, start: np.ndarray, xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """From each point's triangle guess, walk the moved mesh to the triangle holding it:
    step across the edge the point lies beyond (the most negative weight) until it lies
    inside. On a mesh that has not folded this always arrives; a miss is a guess off the
    mesh, or a walk that ran out of steps (``SETTLE_STEPS``). Returns the triangles, and
    the points' weights in them (3×n, NaN for a miss)."""
    current = start.copy()
    found = np.full((3, len(current)), np.nan)
    active = np.flatnonzero(current >= 0)
    for _ in range(SETTLE_STEPS):
        if not len(active):
            break
        triangles = current[active]
        maps = np.take(moved.to_weights, triangles, axis=1)
        weights = _weights(maps, moved.flat[triangles], xy[:, active])
        done = np.minimum(np.minimum(weights[0], weights[1]), weights[2]) >= -1e-6
        found[:, active[done]] = weights[:, done]
        active, weights, triangles = active[~done], weights[:, ~done], triangles[~done]
        # Corner k's weight is negative: the point is beyond the edge opposite corner k,
        # which is edge (k+1, k+2), stored in ``neighbours`` as side (k+1) % 3.
        corner = np.argmin(weights, axis=0)
        across = mesh.neighbours[triangles, (corner + 1) % 3]
        current[active] = np.where(across >= 0, across, triangles)
        active = active[across >= 0]
    return current, found


def _locate(moved: MovedMesh, slivers: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For points (2×n), the moved sliver triangle holding each (-1 if none), all at
    once, and the point's weights in it (3×n, NaN if none)."""
    count = xy.shape[1]
    found = np.full(count, -1, np.int64)
    placed = np.full((3, count), np.nan)
    if not len(slivers):
        return found, placed
    maps = moved.to_weights[:, slivers][:, None, :]
    weights = _weights(maps, moved.flat[slivers], xy[:, :, None])  # 3×n×s
    worst = weights.min(axis=0)
    best = np.argmax(worst, axis=1)
    hit = np.flatnonzero(worst[np.arange(count), best] >= -1e-6)
    found[hit] = slivers[best[hit]]
    placed[:, hit] = weights[:, hit, best[hit]]
    return found, placed


def backward_grid(
    mesh: WarpMesh, grid: WarpGrid, moved: MovedMesh, start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """gh×gw×2 backward displacement (rest point minus output point) at the grid's nodes,
    and the moved triangle holding each node (the next frame's ``start``)."""
    traced = backward_points(mesh, moved, grid.nodes, grid.under, start)
    gh, gw = grid.shape
    return (traced.source - grid.nodes).reshape(gh, gw, 2).astype(np.float32), traced.holders


def sample_map(grid: WarpGrid, backward: np.ndarray) -> np.ndarray:
    """Where each pixel of the box samples the photo: h×w×2 absolute (x, y), float32."""
    height, width = grid.pixels.shape[:2]
    dense = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
    dense += grid.pixels
    return dense


def warp_image(image: np.ndarray, grid: WarpGrid, backward: np.ndarray) -> np.ndarray:
    """The box of ``image`` resampled through the backward map (box-sized result).

    ``cv2.remap`` samples at 1/32 pixel whatever the map's type; given the map in that
    fixed-point form (``convertMaps``) it skips converting it tile by tile itself, the same
    pixels for a fifth less time here."""
    whole, fraction = cv2.convertMaps(sample_map(grid, backward), None, cv2.CV_16SC2)
    return cv2.remap(image, whole, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
