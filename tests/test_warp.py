"""The warp itself: a mesh over the face that never folds, and an exact inverse.

Checked on the bundled portrait, on pictures made from it (mirrored, tilted, small, with
its mouth closed), and on every face in the shared gallery when it is there, at the
largest poses the motion can ask for (``extreme_poses``).
"""

from __future__ import annotations

import numpy as np
import pytest
from extreme_poses import extreme_poses
from gallery_faces import gallery_avatars

import avatarlab
from avatarlab.face.mesh import signed_areas
from avatarlab.render import render_frame, render_frames
from avatarlab.render.deform import frame_geometry
from avatarlab.render.mesh import unfold
from avatarlab.render.warp import backward_grid, backward_points, move_mesh, sample_map
from avatarlab.types import FacePose

POSES = extreme_poses()
WIDE = FacePose(mouth_open=1.0, jaw=1.0, width=-0.6, yaw=5.0, pitch=7.0, roll=2.4, brows=1)


def _barycentric(corners: np.ndarray, points: np.ndarray) -> np.ndarray:
    """…×3 barycentric weights of points (…×2) in triangles (corners …×3×2), by the book:
    the reference the warp's own search is checked against."""
    a, b, c = corners[..., 0, :], corners[..., 1, :], corners[..., 2, :]
    e1, e2, rel = b - a, c - a, points - a
    det = e1[..., 0] * e2[..., 1] - e2[..., 0] * e1[..., 1]
    u = (rel[..., 0] * e2[..., 1] - e2[..., 0] * rel[..., 1]) / det
    v = (e1[..., 0] * rel[..., 1] - rel[..., 0] * e1[..., 1]) / det
    return np.stack([1 - u - v, u, v], axis=-1)


def _without_unfold(rig, pose):
    """The vertices the motion model itself gives, before the fold guard."""
    import avatarlab.render.deform as deform

    guard = deform.unfold
    deform.unfold = lambda mesh, vertices: vertices
    try:
        return frame_geometry(rig.shape, rig.mesh, rig.fields, pose).vertices
    finally:
        deform.unfold = guard


@pytest.fixture(scope="module")
def avatars():
    return gallery_avatars()


def test_no_triangle_turns_over_at_any_extreme_pose(avatars):
    """Every moved triangle keeps a positive area: the piecewise-affine warp's Jacobian is
    each triangle's own, so it is positive everywhere."""
    assert len(POSES) >= 200
    for name, avatar in avatars.items():
        rig = avatar.rig
        rest = signed_areas(rig.mesh.rest, rig.mesh.triangles)
        assert (rest > 0).all(), name
        for pose in POSES:
            vertices = frame_geometry(rig.shape, rig.mesh, rig.fields, pose).vertices
            area = signed_areas(vertices, rig.mesh.triangles)
            assert (area > 0).all(), (name, pose)


def test_the_motion_model_itself_hardly_ever_needs_the_fold_guard(avatars):
    """The guard (``unfold``) is a safety net, not the design: on human faces the motion
    alone keeps nearly every extreme pose unfolded, and where the guard steps in it moves
    a vertex by under a pixel and a half."""
    for name, avatar in avatars.items():
        if name in ANIMALS:
            continue
        rig = avatar.rig
        repaired = 0
        for pose in POSES:
            raw = _without_unfold(rig, pose)
            fixed = unfold(rig.mesh, raw)
            move = float(np.abs(fixed - raw).max())
            assert move < 1.5, (name, pose, move)
            repaired += move > 0
        assert repaired <= 0.05 * len(POSES), (name, repaired)


def test_unfold_undoes_a_fold_made_on_purpose(astronaut):
    rig = astronaut.rig
    vertices = frame_geometry(rig.shape, rig.mesh, rig.fields, FacePose()).vertices.copy()
    corner = int(rig.shape.groups["lower_inner"][5])  # the lower lip's middle
    vertices[corner, 1] -= 0.6 * rig.shape.unit  # up through the upper lip
    assert (signed_areas(vertices, rig.mesh.triangles) <= 0).any()
    fixed = unfold(rig.mesh, vertices)
    assert (signed_areas(fixed, rig.mesh.triangles) > 0).all()
    outer = slice(rig.mesh.n_controls + len(rig.mesh.inner_ring), rig.mesh.n_base)
    assert np.array_equal(fixed[outer], rig.mesh.rest[outer])  # the outer ring holds


def test_backward_map_is_exact_at_every_grid_node(astronaut):
    """Every node inside the moved mesh gets the exact inverse of the piecewise-affine
    warp (the same barycentric place in its triangle's rest copy, found here by brute
    force); every node outside it samples the photo where it is (nothing moves there)."""
    rig = astronaut.rig
    nodes = rig.grid.nodes
    rest_corners = rig.mesh.rest[rig.mesh.triangles]
    for pose in (WIDE, FacePose(), FacePose(yaw=-5, pitch=-3, roll=-2.4, mouth_open=0.5)):
        vertices = frame_geometry(rig.shape, rig.mesh, rig.fields, pose).vertices
        source = backward_points(rig.mesh, move_mesh(rig.mesh, vertices), nodes).source
        corners = vertices[rig.mesh.triangles].astype(np.float64)
        n = len(nodes)
        weights = _barycentric(corners[None], nodes[:, None])  # nodes × triangles × 3
        worst = weights.min(axis=2)
        holder = np.argmax(worst, axis=1)
        inside = worst[np.arange(n), holder] > 1e-6
        expected = np.einsum("nk,nkd->nd", weights[np.arange(n), holder], rest_corners[holder])
        error = np.hypot(*(source - expected).T)
        assert inside.mean() > 0.7  # the box's corners lie beyond the round outer ring
        assert error[inside].max() < 1e-3, (pose, error[inside].max())
        assert np.allclose(
            source[~inside & (worst.max(axis=1) < -1e-3)],
            nodes[~inside & (worst.max(axis=1) < -1e-3)],
            atol=0.5,
        )


def test_frames_drawn_in_a_row_are_the_frames_drawn_alone(astronaut, bilabial_render):
    """A video's frames start each node's search from the triangle that held it on the
    frame before; whatever the motion between frames, they must be the very frames drawn
    from scratch, one pose at a time."""
    track = bilabial_render.track
    for index, frame in enumerate(render_frames(astronaut.rig, track)):
        alone = render_frame(astronaut.rig, track.frame(index))
        assert np.array_equal(frame, alone), index


def test_dense_backward_map_never_reverses(astronaut):
    """The map ``cv2.remap`` samples with, finite-differenced: its Jacobian's determinant
    is positive over the whole head box, at the widest, most turned pose."""
    rig = astronaut.rig
    vertices = frame_geometry(rig.shape, rig.mesh, rig.fields, WIDE).vertices
    grid, _ = backward_grid(rig.mesh, rig.grid, move_mesh(rig.mesh, vertices))
    positions = sample_map(rig.grid, grid)
    map_x, map_y = positions[..., 0], positions[..., 1]
    dxdu, dxdv = np.gradient(map_x, axis=1), np.gradient(map_x, axis=0)
    dydu, dydv = np.gradient(map_y, axis=1), np.gradient(map_y, axis=0)
    assert (dxdu * dydv - dxdv * dydu).min() > 0


def test_frames_outside_the_outer_ring_are_the_photo(astronaut):
    rig = astronaut.rig
    x0, y0, x1, y1 = rig.box
    for pose in (WIDE, FacePose(blink=1.0, brows=1.0)):
        frame = render_frame(rig, pose)
        assert np.array_equal(frame[:y0], rig.image[:y0])
        assert np.array_equal(frame[y1:], rig.image[y1:])
        assert np.array_equal(frame[:, :x0], rig.image[:, :x0])
        assert np.array_equal(frame[:, x1:], rig.image[:, x1:])


ANIMALS = {"s22.jpg", "s23.jpg", "s25.jpg", "s30.jpg", "s31.jpg", "s32.jpg", "s33.jpg"} | {
    "s36.jpg",
    "s38.jpg",
    "s39.jpg",
    "s40.jpg",
    "s41.jpg",
}


def test_gallery_faces_are_all_here(avatars):
    """The astronaut and its transforms always; the gallery's faces where it exists."""
    assert {"astronaut", "astronaut mirrored", "astronaut closed mouth"} <= set(avatars)
    assert all(isinstance(a, avatarlab.Avatar) for a in avatars.values())
