"""The face as a triangle mesh: MediaPipe's tessellation, its holes filled.

MediaPipe publishes the face mesh as edges (FACEMESH_TESSELATION); its faces are the edge
triangles, less the few "triangles" whose three edges all belong to two real faces already
(the mesh has quads split both ways there). The tessellation has holes at the mouth and
the eyes; ``mouth_triangles`` fills the mouth's. ``inspect`` lays a source photo onto a
frame with this mesh; the renderer builds its own (``render.mesh``), which must not fold.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict

import cv2
import numpy as np

from .geometry import face_frame, face_parts


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


def strip_between(across: np.ndarray, upper: list[int], lower: list[int]) -> np.ndarray:
    """Triangles (vertex indices) between two chains that run corner to corner, left to
    right, sharing their two corners: every triangle touches both chains, so pulling the
    chains apart stretches them and bringing them together flattens them, and none turns
    over while the chains stay apart. ``across`` (per vertex) orders them along the mouth:
    advance along whichever chain is behind, as in merging two sorted lists."""
    triangles, i, j = [], 0, 0
    while i < len(upper) - 1 or j < len(lower) - 1:
        if j == len(lower) - 1 or (
            i < len(upper) - 1 and across[upper[i + 1]] <= across[lower[j + 1]]
        ):
            triangles.append((upper[i], upper[i + 1], lower[j]))
            i += 1
        else:
            triangles.append((upper[i], lower[j + 1], lower[j]))
            j += 1
    # The corners are shared by both chains: drop the triangles that collapse onto them.
    return np.array([t for t in triangles if len(set(t)) == 3], dtype=np.int64).reshape(-1, 3)


def mouth_triangles(landmarks: np.ndarray) -> np.ndarray:
    """Triangles spanning the mouth between the inner lips (``strip_between``), for these
    landmarks' layout, ordered along the face's own axis."""
    lips = face_parts().inner_lips
    across = face_frame(landmarks).to_face(landmarks)[:, 0]
    return strip_between(across, list(lips.upper), list(lips.lower)).astype(np.int32)


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice each triangle's signed area (positive when its corners run clockwise on the
    image, whose y axis points down)."""
    corners = np.take(points[:, :2], triangles, axis=0).astype(np.float64, copy=False)
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def affine_maps(source: np.ndarray, target: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """n×2×3: for each triangle the affine map taking its corners at ``target`` to its
    corners at ``source`` (source = M @ (x, y, 1) for a point x, y at ``target``).
    A triangle flattened to a line at ``target`` covers no pixel; it gets the identity."""
    t0, t1, t2 = (target[triangles[:, k], :2].astype(np.float64) for k in range(3))
    s0, s1, s2 = (source[triangles[:, k], :2].astype(np.float64) for k in range(3))
    a, b = t1 - t0, t2 - t0  # the target's edge vectors: columns of T = [[ax, bx], [ay, by]]
    u, v = s1 - s0, s2 - s0  # the source's: columns of S
    det = a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1]
    ok = np.abs(det) > 1e-9
    safe = np.where(ok, det, 1.0)
    # linear = S @ inverse(T), inverse(T) = [[by, -bx], [-ay, ax]] / det, written out.
    maps = np.empty((len(triangles), 2, 3))
    for row in range(2):
        maps[:, row, 0] = (u[:, row] * b[:, 1] - v[:, row] * a[:, 1]) / safe
        maps[:, row, 1] = (v[:, row] * a[:, 0] - u[:, row] * b[:, 0]) / safe
        maps[:, row, 2] = s0[:, row] - maps[:, row, 0] * t0[:, 0] - maps[:, row, 1] * t0[:, 1]
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
