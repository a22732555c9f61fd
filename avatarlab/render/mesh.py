"""The portrait as a triangle mesh that motion bends: face, hair, ears and neck.

Vertices are the face's landmarks (``FaceShape.controls``), two rings around the face and
a few points inserted on the lips. The triangles are a Delaunay triangulation of them at
rest, made to contain every segment of the inner lips, with the mouth between the lips
re-tiled as a strip whose every triangle touches both lips. So the mesh covers the head
without overlaps, opening the mouth stretches only the strip, and the outer ring (which
never moves) seals the rest of the picture off: outside it, pixels are the photo's own.

Every frame moves the vertices (``deform.frame_geometry``); the picture follows triangle
by triangle, an affine map each, so the warp's inverse is exact and it can only fold if a
triangle turns over, which ``signed_areas`` checks directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import Delaunay

from ..errors import ImageError
from ..face.mesh import signed_areas, strip_between, triangle_ids
from .shape import FaceShape

INNER_RING, OUTER_RING = 1.25, 1.55
"""The rings' distance from the face's centre, as multiples of the face silhouette's: the
inner one moves with the head by half, the outer one is fixed."""
RING_POINTS = 36
INNER_RING_FOLLOW = 0.5
DEPTH_SMOOTHING = 60
"""Most passes of neighbour averaging on the steep parts of the vertices' depth."""
MAX_DEPTH_SLOPE = 2.5
"""Depth (face units) the head's turn may see climb per face unit across the picture:
a turn by θ then shears the picture by at most 2.5·sin θ (0.33 at 7.5°), far from folding."""


@dataclass(frozen=True)
class WarpMesh:
    rest: np.ndarray
    """v×2 pixel positions of the vertices at rest: the shape's controls first, then the
    inner ring, the outer ring, then points inserted on the inner lips."""
    triangles: np.ndarray
    """t×3 vertex indices, each with positive ``signed_areas`` at rest."""
    corners: np.ndarray
    """t×3×2 (float64) rest positions of each triangle's corners."""
    n_controls: int
    inner_ring: np.ndarray
    """Vertex indices of the inner ring; the outer ring follows it."""
    ring_depth: np.ndarray
    """Face-unit depth of each inner-ring vertex (its nearest control's, smoothed)."""
    inserted: np.ndarray
    """s×3: an inserted vertex and the two it lies half way between (both earlier)."""
    depth: np.ndarray
    """Per control: its depth (face units), smoothed over the mesh."""
    box: tuple[int, int, int, int]
    """x0, y0, x1, y1 around the outer ring, inside the image."""
    rest_ids: np.ndarray
    """Box-sized: the triangle under each pixel at rest (-1 outside the mesh)."""
    neighbours: np.ndarray
    """t×3: the triangle across each edge (-1 on the mesh's border)."""
    adjacent: np.ndarray
    """v×d: each vertex's neighbours along the mesh's edges, padded with -1."""
    rest_area: np.ndarray
    """Per triangle, its ``signed_areas`` at rest."""
    slivers: np.ndarray
    """Triangles too thin at rest for ``rest_ids`` to hold them (the mouth of closed lips
    above all): the warp looks for points in them directly."""

    @property
    def n_base(self) -> int:
        return self.n_controls + 2 * len(self.inner_ring)

    def place_inserted(self, base: np.ndarray) -> np.ndarray:
        """All vertices' values from the base vertices' (inserted ones are midpoints)."""
        values = np.empty((len(self.rest), base.shape[1]), base.dtype)
        values[: self.n_base] = base
        for vertex, a, b in self.inserted:
            values[vertex] = 0.5 * (values[a] + values[b])
        return values


def _rings(shape: FaceShape) -> tuple[np.ndarray, np.ndarray]:
    """Two rings around the face's silhouette (the convex hull of every landmark, so that
    on a turned face no ring point falls inside the face), ``RING_POINTS`` each at equal
    angles about the hull's centre, its radius smoothed so no three points line up."""
    import cv2

    hull = cv2.convexHull(shape.landmarks[:468, :2].astype(np.float32))[:, 0].astype(np.float64)
    centre = hull.mean(axis=0)
    angles = np.linspace(-np.pi, np.pi, RING_POINTS, endpoint=False)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    # The hull's radius along each direction: the farthest reach of its points there.
    offsets = hull - centre
    radius = np.array([np.max(offsets @ d) for d in directions])
    for _ in range(3):
        radius = 0.25 * np.roll(radius, 1) + 0.5 * radius + 0.25 * np.roll(radius, -1)
    outline = directions * radius[:, None]
    return centre + outline * INNER_RING, centre + outline * OUTER_RING


def _chains(shape: FaceShape) -> tuple[list[int], list[int]]:
    """Vertex indices of the upper and lower inner lip, corner to corner, left → right."""
    g = shape.groups
    return list(g["upper_inner"]), list(g["lower_inner"])


def _conforming(
    points: np.ndarray, chains: list[list[int]]
) -> tuple[np.ndarray, np.ndarray, list, list]:
    """Delaunay triangles of ``points`` containing every segment of ``chains``: a segment
    missing from the triangulation gets a point at its middle, until none is missing.
    Returns the points with those added, the triangles, the added points as
    (vertex, a, b), and the refined chains."""
    inserted: list[tuple[int, int, int]] = []
    points = points.copy()
    for _ in range(12):
        triangles = Delaunay(points).simplices
        edges = {
            frozenset(e) for t in triangles for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2]))
        }
        refined, missing = [], False
        for chain in chains:
            new = [chain[0]]
            for a, b in zip(chain[:-1], chain[1:], strict=True):
                if frozenset((a, b)) not in edges:
                    missing = True
                    points = np.vstack([points, 0.5 * (points[a] + points[b])])
                    inserted.append((len(points) - 1, a, b))
                    new.append(len(points) - 1)
                new.append(b)
            refined.append(new)
        chains = refined
        if not missing:
            return points, triangles, inserted, chains
    raise ImageError(
        "the face in this picture cannot be animated: the outlines of its lips or eyes "
        "cross each other (try a sharper or more frontal photo)"
    )


def _inside_mouth(points: np.ndarray, triangles: np.ndarray, upper, lower) -> np.ndarray:
    import cv2

    polygon = np.concatenate([points[upper], points[lower[::-1]]]).astype(np.float32)
    contour = polygon.reshape(-1, 1, 2)
    centroids = points[triangles].mean(axis=1)
    return np.array(
        [cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in centroids],
        bool,
    )


def _smoothed_depth(shape: FaceShape, triangles: np.ndarray) -> np.ndarray:
    """The controls' depth, averaged with their neighbours' wherever it climbs faster than
    ``MAX_DEPTH_SLOPE`` across a triangle. On a turned face MediaPipe's hidden points sit
    beside visible ones at quite another depth; a turn of the head would move the two
    apart and fold the picture between them. Smoothed, the whole head turns as one."""
    k = len(shape.controls)
    depth = shape.rest[:, 2].copy()
    inner = triangles[(triangles < k).all(axis=1)]
    xy = shape.rest[:, :2]
    neighbours = [set() for _ in range(k)]
    for t in inner:
        for a in t:
            neighbours[a].update(int(b) for b in t if b != a)
    means = [list(n) for n in neighbours]
    for _ in range(DEPTH_SMOOTHING):
        steep = np.unique(inner[_depth_slopes(xy, depth, inner) > MAX_DEPTH_SLOPE])
        if not len(steep):
            break
        averaged = depth.copy()
        for i in steep:
            if means[i]:
                averaged[i] = 0.5 * depth[i] + 0.5 * depth[means[i]].mean()
        depth = averaged
    return _eyes_level(shape, _lips_level(shape, depth))


def _lips_level(shape: FaceShape, depth: np.ndarray) -> np.ndarray:
    """The lips at one depth across each place of the mouth (the average of their four
    contours there): turning the head must not slide one closed lip over the other, nor
    the outline of a thin lip over its inner edge."""
    g, across = shape.groups, shape.lips.across
    contours = [g["upper_inner"], g["lower_inner"], g["upper_outer"], g["lower_outer"]]
    samples = np.linspace(-1.0, 1.0, 41)
    profiles = []
    for contour in contours:
        order = contour[np.argsort(across[contour])]
        profiles.append(np.interp(samples, across[order], depth[order]))
    level = np.mean(profiles, axis=0)
    result = depth.copy()
    lips = g["lips"]
    result[lips] = np.interp(across[lips], samples, level)
    return result


def _eyes_level(shape: FaceShape, depth: np.ndarray) -> np.ndarray:
    """Each eye's two lids at one depth across it (their average): a shut eye's lids
    touch, and turning the head must not slide one over the other."""
    g, x = shape.groups, shape.rest[:, 0]
    result = depth.copy()
    for side in ("left", "right"):
        upper, lower = g[f"upper_lid_{side}"], g[f"lower_lid_{side}"]
        lids = np.concatenate([upper, lower])
        samples = np.linspace(x[lids].min(), x[lids].max(), 17)
        level = np.mean(
            [np.interp(samples, np.sort(x[c]), depth[c][np.argsort(x[c])]) for c in (upper, lower)],
            axis=0,
        )
        result[lids] = np.interp(x[lids], samples, level)
    return result


def _depth_slopes(xy: np.ndarray, depth: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """How steeply depth climbs across each triangle (depth per face unit)."""
    a, b, c = (xy[triangles[:, i]] for i in range(3))
    da, db, dc = (depth[triangles[:, i]] for i in range(3))
    e1, e2 = b - a, c - a
    det = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
    safe = np.where(np.abs(det) > 1e-9, det, np.inf)
    gx = ((db - da) * e2[:, 1] - (dc - da) * e1[:, 1]) / safe
    gy = ((dc - da) * e1[:, 0] - (db - da) * e2[:, 0]) / safe
    return np.hypot(gx, gy)


def _neighbours(triangles: np.ndarray) -> np.ndarray:
    by_edge: dict[frozenset[int], list[int]] = {}
    for index, triangle in enumerate(triangles):
        for k in range(3):
            by_edge.setdefault(
                frozenset((int(triangle[k]), int(triangle[(k + 1) % 3]))), []
            ).append(index)
    result = np.full((len(triangles), 3), -1, np.int64)
    for index, triangle in enumerate(triangles):
        for k in range(3):
            others = [
                t
                for t in by_edge[frozenset((int(triangle[k]), int(triangle[(k + 1) % 3])))]
                if t != index
            ]
            result[index, k] = others[0] if others else -1
    return result


def _adjacent(n: int, triangles: np.ndarray) -> np.ndarray:
    linked: list[set[int]] = [set() for _ in range(n)]
    for triangle in triangles:
        for a in triangle:
            linked[int(a)].update(int(b) for b in triangle if b != a)
    width = max(len(x) for x in linked)
    result = np.full((n, width), -1, np.int64)
    for vertex, others in enumerate(linked):
        result[vertex, : len(others)] = sorted(others)
    return result


UNFOLD_ROUNDS = 30
MIN_AREA_SHARE = 0.05
"""A moved triangle keeps at least this share of its rest area (or of a pixel's, for the
mouth's strip, which is a sliver at rest when the lips touch)."""


def unfold(mesh: WarpMesh, vertices: np.ndarray) -> np.ndarray:
    """The vertices with any triangle that turned over (or nearly so) undone: the corners
    of each such triangle move half way towards moving together (their mean
    displacement), round after round, until every triangle keeps ``MIN_AREA_SHARE`` of
    its area. A triangle whose corners all move alike is its rest shape, shifted, so this
    always ends. The motion is built not to fold (see ``deform``); this is the guarantee
    for what no model foresees, a landmark a pixel out of place on a strange face. The
    outer ring never moves. On the gallery's portraits at the largest poses the motion
    asks for it touches few poses, by a pixel or so (tests/test_warp.py)."""
    floor = np.maximum(MIN_AREA_SHARE * mesh.rest_area, 0.05)
    area = signed_areas(vertices, mesh.triangles)
    if (area >= floor).all():
        return vertices
    moved = vertices.astype(np.float64).copy()
    shift = moved - mesh.rest
    fixed = np.zeros(len(moved), bool)
    fixed[mesh.n_controls + len(mesh.inner_ring) : mesh.n_base] = True  # the outer ring
    for _ in range(UNFOLD_ROUNDS):
        bad = np.flatnonzero(area < floor)
        if not len(bad):
            break
        corners = mesh.triangles[bad]  # b×3
        target = np.zeros_like(shift)
        count = np.zeros(len(shift))
        means = shift[corners].mean(axis=1)  # b×2
        for k in range(3):
            np.add.at(target, corners[:, k], means)
            np.add.at(count, corners[:, k], 1.0)
        touched = (count > 0) & ~fixed
        target[touched] /= count[touched, None]
        shift[touched] = 0.5 * shift[touched] + 0.5 * target[touched]
        moved = mesh.rest + shift
        area = signed_areas(moved, mesh.triangles)
    return moved.astype(vertices.dtype)


def _slivers(points: np.ndarray, triangles: np.ndarray, n_strip: int) -> np.ndarray:
    """The mouth's strip (the last ``n_strip`` triangles) and any triangle thinner than two
    pixels at rest."""
    area = signed_areas(points, triangles)
    longest = np.max(
        [
            np.hypot(*(points[triangles[:, i]] - points[triangles[:, (i + 1) % 3]]).T)
            for i in range(3)
        ],
        axis=0,
    )
    thin = np.flatnonzero(area / np.maximum(longest, 1e-9) < 2.0)
    strip = np.arange(len(triangles) - n_strip, len(triangles))
    return np.union1d(thin, strip).astype(np.int64)


def build_mesh(shape: FaceShape, image_shape: tuple[int, ...]) -> WarpMesh:
    """Triangulate the face and its surroundings for the portrait's rest landmarks."""
    inner, outer = _rings(shape)
    k = len(shape.controls)
    base = np.concatenate([shape.pixels(), inner, outer]).astype(np.float64)
    upper, lower = _chains(shape)
    g = shape.groups
    lids = [
        list(g[f"{half}_lid_{side}"]) for side in ("left", "right") for half in ("upper", "lower")
    ]
    # The eyes' outlines are kept as edges too, so the triangles around an iris (which the
    # gaze moves) lie inside its eye.
    points, triangles, inserted, chains = _conforming(base, [upper, lower, *lids])
    upper, lower = chains[0], chains[1]
    triangles = triangles[~_inside_mouth(points, triangles, upper, lower)]
    flip = signed_areas(points, triangles) < 0
    triangles[flip] = triangles[flip][:, [0, 2, 1]]
    across = shape.frame.to_face(points)[:, 0]  # along the face's own axis, even tilted
    strip = strip_between(across, upper, lower)
    n_strip = len(strip)
    triangles = np.concatenate([triangles, strip])
    n_ring = len(inner)
    inner_ring = np.arange(k, k + n_ring)
    base_triangles = triangles[(triangles < len(base)).all(axis=1)]
    height, width = image_shape[:2]
    x0, y0 = np.floor(outer.min(axis=0)).astype(int)
    x1, y1 = np.ceil(outer.max(axis=0)).astype(int) + 1
    box = (max(0, x0), max(0, y0), min(width, x1), min(height, y1))
    rest_ids = triangle_ids(
        points - (box[0], box[1]), triangles, (box[3] - box[1], box[2] - box[0])
    )
    nearest = np.argmin(
        np.hypot(*(inner[:, None, :] - shape.pixels()[None]).transpose(2, 0, 1)), axis=1
    )
    depth = _smoothed_depth(shape, base_triangles)
    return WarpMesh(
        rest=points.astype(np.float32),
        triangles=triangles.astype(np.int32),
        corners=points.astype(np.float32)[triangles].astype(np.float64),
        n_controls=k,
        inner_ring=inner_ring,
        ring_depth=depth[nearest],
        inserted=np.array(inserted, dtype=np.int64).reshape(-1, 3),
        depth=depth,
        box=box,
        rest_ids=rest_ids,
        neighbours=_neighbours(triangles),
        adjacent=_adjacent(len(points), triangles),
        rest_area=signed_areas(points, triangles),
        slivers=_slivers(points, triangles, n_strip),
    )
