"""Photo → Portrait: read the image, find the largest face's 478 landmarks, frame it.

Importing this package loads no model: MediaPipe is imported (about a second) and its
FaceMesh built the first time a face is looked for, then reused per thread.
"""

from __future__ import annotations

from .image import default_avatar, load_image
from .landmarks import detect_landmarks, search_faces, track_landmarks
from .portrait import crop_portrait, eye_centres, face_anchor, face_height, find_face

__all__ = [
    "crop_portrait",
    "default_avatar",
    "detect_landmarks",
    "eye_centres",
    "face_anchor",
    "face_height",
    "find_face",
    "load_image",
    "search_faces",
    "track_landmarks",
]
