"""Faces the renderer is judged on: the bundled astronaut, pictures made from it, and the
shared gallery's portraits (``../shared/gallery/portraits`` beside the project, there for
every developer and in CI) when it exists. Each is found and rigged once per test run.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

import avatarlab
from avatarlab.errors import NoFaceError
from avatarlab.face import default_avatar
from avatarlab.render import render_frame
from avatarlab.types import FacePose

GALLERY = Path(__file__).resolve().parents[1].parent / "shared" / "gallery" / "portraits"
IMAGE_TYPES = {".jpg", ".jpeg", ".png"}


def _astronaut_variants() -> dict[str, np.ndarray]:
    photo = default_avatar()
    height, width = photo.shape[:2]
    tilt = cv2.getRotationMatrix2D((width / 2, height / 3), 8.0, 1.0)
    small = np.full((1400, 1400, 3), 90, np.uint8)
    small[500:756, 600:856] = cv2.resize(photo, (256, 256), interpolation=cv2.INTER_AREA)
    rig = avatarlab.load_avatar().rig
    closed = render_frame(rig, FacePose())
    shut_eyes = render_frame(rig, FacePose(blink=1.0, mouth_open=0.5, jaw=0.4))
    return {
        "astronaut mirrored": np.ascontiguousarray(photo[:, ::-1]),
        "astronaut tilted": cv2.warpAffine(
            photo, tilt, (width, height), borderMode=cv2.BORDER_REFLECT
        ),
        "astronaut small": small,
        "astronaut closed mouth": closed,
        "astronaut eyes shut": shut_eyes,
    }


@functools.lru_cache(maxsize=1)
def gallery_avatars() -> dict[str, avatarlab.Avatar]:
    """Name → rigged avatar; portraits where no face is found are left out (the face
    tests check the message for those)."""
    avatars = {"astronaut": avatarlab.load_avatar()}
    for name, image in _astronaut_variants().items():
        avatars[name] = avatarlab.load_avatar(image)
    for path in gallery_portraits():
        try:
            avatars[path.name] = avatarlab.load_avatar(path)
        except NoFaceError:
            continue
    return avatars


def gallery_portraits() -> list[Path]:
    if not GALLERY.is_dir():
        return []
    return sorted(p for p in GALLERY.iterdir() if p.suffix.lower() in IMAGE_TYPES)
