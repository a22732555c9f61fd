"""The renderer, judged on its output frames with MediaPipe, as a viewer would see them."""

import cv2
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from avatarlab.face import find_face
from avatarlab.face.geometry import face_parts
from avatarlab.measure import CLOSED_GAP, measure_face
from avatarlab.render import build_rig, render_frame
from avatarlab.types import FacePose, Portrait

CLOSED = FacePose()
OPEN = FacePose(mouth_open=1.0, jaw=0.85)
HALF = FacePose(mouth_open=0.5, jaw=0.4)


def test_rig_closes_a_mouth_that_is_open_at_rest(astronaut):
    # The astronaut smiles with her teeth apart: the photo itself measures clearly open.
    assert astronaut.rig.original_gap > 0.1
    assert measure_face(astronaut.portrait.image).lip_gap > 0.1
    assert measure_face(render_frame(astronaut.rig, CLOSED)).lip_gap < CLOSED_GAP


def test_mouth_opening_follows_the_pose(astronaut):
    gaps = [
        measure_face(render_frame(astronaut.rig, pose)).lip_gap for pose in (CLOSED, HALF, OPEN)
    ]
    assert gaps[0] < CLOSED_GAP < gaps[1] < gaps[2]
    assert gaps[2] > 0.25  # a wide "ah" reads as wide open


@pytest.fixture(scope="module")
def closed_mouth_portrait(astronaut):
    """A second kind of portrait: lips shut at rest. Made by the renderer, found afresh."""
    image = render_frame(astronaut.rig, FacePose(yaw=-3.0))
    portrait = find_face(image)
    assert measure_face(image).lip_gap < CLOSED_GAP
    return portrait


def test_a_closed_mouth_portrait_opens(closed_mouth_portrait):
    rig = build_rig(closed_mouth_portrait)
    assert rig.original_gap < 0.05
    opened = measure_face(render_frame(rig, OPEN)).lip_gap
    closed = measure_face(render_frame(rig, CLOSED)).lip_gap
    assert opened > 0.25 and closed < CLOSED_GAP


def test_blink_shuts_both_eyes_and_opens_them_again(astronaut):
    open_eyes = measure_face(render_frame(astronaut.rig, CLOSED)).eyes_open
    shut_eyes = measure_face(render_frame(astronaut.rig, FacePose(blink=1.0))).eyes_open
    assert min(open_eyes) > 0.25
    assert max(shut_eyes) < 0.1


def test_pixels_outside_the_head_region_never_change(astronaut):
    rig = astronaut.rig
    x0, y0, x1, y1 = rig.box
    outside = np.ones(rig.image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    for pose in (OPEN, FacePose(yaw=4, pitch=-3, roll=3, blink=1, brows=1, mouth_open=0.6)):
        frame = render_frame(rig, pose)
        assert np.array_equal(frame[outside], rig.image[outside])
    # and the head region is a real part of the picture, not the whole of it
    assert 0.1 < (1 - outside.mean()) < 0.6


def test_still_pose_gives_identical_frames_no_jitter(astronaut):
    pose = FacePose(mouth_open=0.3, jaw=0.2, yaw=1.0)
    assert np.array_equal(render_frame(astronaut.rig, pose), render_frame(astronaut.rig, pose))


def test_small_pose_changes_give_small_image_changes_no_tearing(astronaut):
    rig = astronaut.rig
    a = render_frame(rig, FacePose(yaw=1.0, mouth_open=0.4)).astype(int)
    b = render_frame(rig, FacePose(yaw=1.2, mouth_open=0.42)).astype(int)
    assert np.abs(a - b).max() < 60
    assert np.abs(a - b).mean() < 1.0


def test_head_turn_moves_the_face_the_documented_way(astronaut):
    rest = find_face(render_frame(astronaut.rig, CLOSED)).landmarks
    nodded = find_face(render_frame(astronaut.rig, FacePose(pitch=5.0))).landmarks
    turned = find_face(render_frame(astronaut.rig, FacePose(yaw=5.0))).landmarks
    nose = 1  # MediaPipe's nose tip
    assert nodded[nose, 1] > rest[nose, 1] + 0.5  # + pitch nods down
    assert turned[nose, 0] < rest[nose, 0] - 0.5  # + yaw turns towards the image's left


def test_grayscale_portrait_keeps_a_grey_mouth(astronaut):
    gray = np.repeat(astronaut.portrait.image.mean(axis=2, keepdims=True), 3, axis=2).astype(
        np.uint8
    )
    rig = build_rig(Portrait(gray, astronaut.portrait.landmarks))
    frame = render_frame(rig, OPEN)
    assert np.array_equal(frame[..., 0], frame[..., 1]) and np.array_equal(
        frame[..., 1], frame[..., 2]
    )


def test_drawn_teeth_are_shaded_under_the_lip_without_lines_between_them(closed_mouth_portrait):
    """A photo with shut lips gets drawn teeth: in the upper lip's shadow at the top, lit
    towards the biting edge, and smooth across (lines between teeth read as a keyboard)."""
    frame = render_frame(build_rig(closed_mouth_portrait), FacePose(mouth_open=0.6, jaw=0.45))
    landmarks = find_face(frame).landmarks
    inside = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(
        inside, [np.round(landmarks[face_parts().inner_lips.loop, :2]).astype(np.int32)], 1
    )
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8)).astype(bool)
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    teeth = inside & (grey > 0.5 * grey[inside].max())
    columns = np.flatnonzero(teeth.any(axis=0))
    middle = columns[len(columns) // 5 : -len(columns) // 5]
    tops, edges, across = [], [], []
    for x in middle:
        rows = np.flatnonzero(teeth[:, x])
        third = max(1, len(rows) // 3)
        tops.append(grey[rows[:third], x].mean())
        edges.append(grey[rows[-2 * third : -third or None], x].mean())
        across.append(grey[rows, x].max())  # the lit band just above the biting edge
    assert len(middle) >= 20 and np.median([len(np.flatnonzero(teeth[:, x])) for x in middle]) >= 6
    assert np.median(tops) < 0.95 * np.median(edges), (np.median(tops), np.median(edges))
    profile = np.array(across)
    ripple = profile - gaussian_filter1d(profile, len(profile) / 6, mode="nearest")
    assert np.ptp(ripple) < 0.04 * profile.mean(), np.ptp(ripple) / profile.mean()
