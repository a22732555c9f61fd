"""The face as a triangle mesh: MediaPipe's tessellation, its holes filled.

MediaPipe publishes the face mesh as edges (FACEMESH_TESSELATION); its faces are the edge
triangles, less the few "triangles" whose three edges all belong to two real faces already
(the mesh has quads split both ways there). The tessellation has four holes: the mouth
between the inner lips and the two eyes. ``mouth_triangles`` and ``eye_triangles`` fill
them, so a warp over the whole mesh is defined everywhere inside the face outline.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict

import cv2
import numpy as np

from .geometry import face_parts


@functools.lru_cache(maxsize=1)
def face_triangles() -> np.ndarray:
    """n×3 landmark indices of the tessellation's faces (852 of them)."""
    import mediapipe as mp

    edges = {tuple(sorted(e)) for e in mp.solutions.face_mesh_connections.FACEMESH_TESSELATION}
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    cliques = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    uses = Counter(e for t in cliques for e in itertools.combinations(t, 2))
    faces = sorted(t for t in cliques if min(uses[e] for e in itertools.combinations(t, 2)) < 3)
    return np.array(_consistently_wound(faces), dtype=np.int32)


def _consistently_wound(faces: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Order each face's corners so that neighbours run their shared edge in opposite
    directions: the whole surface then has one winding, and a triangle whose winding flips
    in a picture is one seen from behind (or folded over)."""
    by_edge: dict[frozenset[int], list[int]] = defaultdict(list)
    for index, face in enumerate(faces):
        for a, b in itertools.combinations(face, 2):
            by_edge[frozenset((a, b))].append(index)
    wound: dict[int, tuple[int, int, int]] = {}
    for seed in range(len(faces)):
        if seed in wound:
            continue
        wound[seed] = faces[seed]
        queue = [seed]
        while queue:
            current = wound[queue.pop()]
            for k in range(3):
                a, b = current[k], current[(k + 1) % 3]
                for other in by_edge[frozenset((a, b))]:
                    if other in wound:
                        continue
                    (c,) = set(faces[other]) - {a, b}
                    wound[other] = (b, a, c)  # the shared edge, the other way round
                    queue.append(other)
    return [wound[i] for i in range(len(faces))]


def _fill(polygon: np.ndarray, indices: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """Triangles (as indices) covering a simple polygon given in order, optionally with
    interior points: a Delaunay triangulation kept where it lies inside the polygon."""
    from scipy.spatial import Delaunay

    points = polygon if extra is None else np.concatenate([polygon, extra])
    simplices = Delaunay(points).simplices
    centroids = points[simplices].mean(axis=1)
    contour = polygon.astype(np.float32).reshape(-1, 1, 2)
    inside = [cv2.pointPolygonTest(contour, tuple(map(float, c)), False) > 0 for c in centroids]
    return indices[simplices[np.array(inside, bool)]]


def mouth_triangles(landmarks: np.ndarray) -> np.ndarray:
    """Triangles spanning the mouth between the inner lips, for these landmarks' layout.

    A strip joining the upper and lower inner lip in order across the mouth, so that every
    triangle touches both lips: opening the mouth stretches them and closing it flattens
    them, and neither ever turns a triangle over while the lips stay apart.
    """
    lips = face_parts().inner_lips
    upper, lower = list(lips.upper), list(lips.lower)  # both corner to corner, left → right
    triangles, i, j = [], 0, 0
    while i < len(upper) - 1 or j < len(lower) - 1:
        # Advance along whichever lip is behind in x, as in merging two sorted lists.
        advance_upper = j == len(lower) - 1 or (
            i < len(upper) - 1 and landmarks[upper[i + 1], 0] <= landmarks[lower[j + 1], 0]
        )
        if advance_upper:
            triangles.append((upper[i], upper[i + 1], lower[j]))
            i += 1
        else:
            triangles.append((upper[i], lower[j + 1], lower[j]))
            j += 1
    # The corners are shared by both lips: drop the triangles that collapse onto them.
    return np.array([t for t in triangles if len(set(t)) == 3], dtype=np.int32)


def eye_triangles(landmarks: np.ndarray) -> np.ndarray:
    """Triangles filling both eyes, with each iris centre as an inner vertex (gaze moves
    it) where it lies well inside the eye's outline."""
    parts = face_parts()
    result = []
    for eye, iris in zip(parts.eyes, parts.irises, strict=True):
        outline = np.array(list(eye.upper) + list(eye.lower[1:-1][::-1]))
        polygon = landmarks[outline, :2].astype(np.float64)
        centre = landmarks[iris[0], :2].astype(np.float64)
        contour = polygon.astype(np.float32).reshape(-1, 1, 2)
        margin = cv2.pointPolygonTest(contour, tuple(map(float, centre)), True)
        height = np.ptp(polygon[:, 1])
        if margin > 0.25 * height:
            result.append(_fill(polygon, np.append(outline, iris[0]), centre[None]))
        else:
            result.append(_fill(polygon, outline))
    return np.concatenate(result).astype(np.int32)


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice each triangle's signed area (positive when its corners run clockwise on the
    image, whose y axis points down)."""
    a, b, c = (points[triangles[:, k], :2].astype(np.float64) for k in range(3))
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def oriented(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The triangles with their corners reordered to positive signed area at ``points``."""
    flip = signed_areas(points, triangles) < 0
    result = triangles.copy()
    result[flip] = result[flip][:, [0, 2, 1]]
    return result


def affine_maps(source: np.ndarray, target: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """n×2×3: for each triangle the affine map taking its corners at ``target`` to its
    corners at ``source`` (source = M @ (x, y, 1) for a point x, y at ``target``).
    A triangle flattened to a line at ``target`` covers no pixel; it gets the identity."""
    t0, t1, t2 = (target[triangles[:, k], :2].astype(np.float64) for k in range(3))
    s0, s1, s2 = (source[triangles[:, k], :2].astype(np.float64) for k in range(3))
    a, b = t1 - t0, t2 - t0  # the target's edge vectors, the columns of a 2×2 matrix
    det = a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1]
    ok = np.abs(det) > 1e-9
    safe = np.where(ok, det, 1.0)
    # inverse of [[a.x, b.x], [a.y, b.y]]
    inverse = (
        np.stack([np.stack([b[:, 1], -b[:, 0]], -1), np.stack([-a[:, 1], a[:, 0]], -1)], axis=1)
        / safe[:, None, None]
    )
    edges = np.stack([s1 - s0, s2 - s0], axis=-1)  # n×2×2: source edge vectors as columns
    linear = np.einsum("nij,njk->nik", edges, inverse)
    offset = s0 - np.einsum("nij,nj->ni", linear, t0)
    maps = np.concatenate([linear, offset[:, :, None]], axis=2)
    maps[~ok] = np.eye(2, 3)
    return maps


def backward_map(
    source: np.ndarray, target: np.ndarray, triangles: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel of a ``shape`` image in which the mesh's vertices sit at ``target``: where
    to sample the image in which they sit at ``source`` (map_x, map_y float32), and which
    pixels the mesh covers. Where triangles overlap (a folded mesh), the later one wins."""
    ids = triangle_ids(target, triangles, shape)
    covered = ids >= 0
    maps = affine_maps(source, target, triangles)
    ys, xs = np.nonzero(covered)
    m = maps[ids[covered]]  # p×2×3
    map_x = np.zeros(shape, np.float32)
    map_y = np.zeros(shape, np.float32)
    map_x[covered] = m[:, 0, 0] * xs + m[:, 0, 1] * ys + m[:, 0, 2]
    map_y[covered] = m[:, 1, 0] * xs + m[:, 1, 1] * ys + m[:, 1, 2]
    return map_x, map_y, covered


def triangle_ids(points: np.ndarray, triangles: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """An int32 image (``shape`` = height, width) holding at each pixel the index of the
    triangle covering its centre, -1 where none does."""
    ids = np.full(shape, -1, np.int32)
    fixed = np.round(points[:, :2] * 16).astype(np.int32)
    for index, triangle in enumerate(triangles):
        cv2.fillConvexPoly(ids, fixed[triangle], int(index), cv2.LINE_8, 4)
    return ids
