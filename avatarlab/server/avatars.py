"""Portraits the server knows: the bundled astronaut and uploads, each found once and kept.

``avatars/<id>/`` holds the photo as uploaded, ``landmarks.npy`` (the 478 FaceMesh points in
the decoded, EXIF-turned photo's pixels), ``thumb.jpg`` and ``meta.json``. A video avatar
keeps the clip as uploaded and, in ``clips/``, the clip read for rendering (frames, mouth
atlas; see ``avatarlab.clip``); its thumbnail and landmarks are those of its most neutral
frame, framed as renders frame it. The face is looked
for once, at upload; renders rebuild the portrait from these files without the detector, and
keep a few rigged avatars in memory because a rig is reused by every frame of every render.

An upload's id is a hash of its bytes: uploading the same photo twice returns the first
record instead of storing and detecting it again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..clip import VIDEO_SUFFIXES, build_clip_avatar, read_clip
from ..clip.avatar import neutral_frame
from ..errors import AvatarLabError, ImageError
from ..face import crop_portrait, default_avatar, find_face, load_image
from ..face.landmarks import face_box
from ..options import Options
from ..pipeline import AnyAvatar, Avatar
from ..render import build_rig
from ..types import Portrait

BUNDLED_ID = "astronaut"
THUMB_SIDE = 320
RIG_CACHE_SIZE = 8
_ID = re.compile(r"^[a-z0-9]{1,64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


@dataclass(frozen=True)
class AvatarRecord:
    id: str
    name: str
    width: int
    height: int
    face_box: tuple[float, float, float, float]
    """(x0, y0, x1, y1) of the face's landmarks, in the photo's pixels."""
    faces_found: int
    notes: tuple[str, ...]
    created: float
    image_file: str
    """The photo, or the clip, as uploaded."""
    bundled: bool = False
    kind: str = "photo"
    """"photo" or "video"."""


def valid_id(item_id: str) -> bool:
    """Ids become folder names: only lowercase letters and digits get that far."""
    return bool(_ID.match(item_id))


class AvatarStore:
    def __init__(self, folder: Path, max_image_pixels: int, max_clip_seconds: float = 60.0):
        self.folder = folder
        self.max_image_pixels = max_image_pixels
        self.max_clip_seconds = max_clip_seconds
        self._lock = threading.Lock()
        self._rigs: OrderedDict[tuple, AnyAvatar] = OrderedDict()
        (folder / ".incoming").mkdir(parents=True, exist_ok=True)

    def ensure_bundled(self) -> AvatarRecord:
        """The astronaut's record, detecting her face on the first start with this folder."""
        record = self.get(BUNDLED_ID)
        if record is not None:
            return record
        image = default_avatar()
        _, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        portrait = find_face(image, source="the bundled astronaut")
        return self._save(BUNDLED_ID, png.tobytes(), ".png", portrait, "Astronaut", bundled=True)

    def add_upload(self, data: bytes, filename: str) -> AvatarRecord:
        """Decode, check and find the face in an uploaded photo (ImageError / NoFaceError)."""
        avatar_id = hashlib.sha256(data).hexdigest()[:24]
        existing = self.get(avatar_id)
        if existing is not None:
            return existing
        name = Path(filename or "photo").name[:120] or "photo"
        if Path(name).suffix.lower() in VIDEO_SUFFIXES:
            return self._add_clip(avatar_id, data, name)
        incoming = self.folder / ".incoming" / uuid.uuid4().hex
        incoming.write_bytes(data)
        try:
            image = load_image(incoming, max_pixels=self.max_image_pixels)
        except ImageError as error:
            raise type(error)(error.message.replace(str(incoming), name)) from None
        finally:
            incoming.unlink(missing_ok=True)
        portrait = find_face(image, source=name)
        suffix = Path(name).suffix.lower()
        return self._save(
            avatar_id, data, suffix if _SUFFIX.match(suffix) else ".img", portrait, name
        )

    def _add_clip(self, avatar_id: str, data: bytes, name: str) -> AvatarRecord:
        """Read an uploaded clip now (the face check: found on most frames), into the
        avatar's own folder, so renders at the default size and rate start at once."""
        scratch = self.folder / ".incoming" / f"{avatar_id}-{uuid.uuid4().hex}"
        scratch.mkdir()
        clip_file = "clip" + Path(name).suffix.lower()
        (scratch / clip_file).write_bytes(data)
        try:
            clip = read_clip(
                scratch / clip_file,
                fps=Options().fps,
                max_seconds=self.max_clip_seconds,
                cache=scratch,
            )
        except AvatarLabError as error:
            shutil.rmtree(scratch, ignore_errors=True)
            message = error.message.replace(str((scratch / clip_file).resolve()), name)
            raise type(error)(message.replace(clip_file, name)) from None
        neutral = neutral_frame(clip.atlas)
        portrait = Portrait(
            image=np.array(clip.frames[neutral]),
            landmarks=clip.raw_landmarks[neutral],
            notes=clip.notes,
        )
        return self._save(
            avatar_id, b"", "", portrait, name, kind="video", prepared=scratch, image_file=clip_file
        )

    def _save(
        self,
        avatar_id: str,
        data: bytes,
        suffix: str,
        portrait: Portrait,
        name: str,
        bundled: bool = False,
        kind: str = "photo",
        prepared: Path | None = None,
        image_file: str | None = None,
    ) -> AvatarRecord:
        """Write into a scratch folder (``prepared``: one that already holds the upload),
        then rename: a reader never sees half an avatar."""
        height, width = portrait.image.shape[:2]
        record = AvatarRecord(
            id=avatar_id,
            name=name,
            width=width,
            height=height,
            face_box=face_box(portrait.landmarks),
            faces_found=portrait.faces_found,
            notes=tuple(portrait.notes),
            created=time.time(),
            image_file=image_file or "image" + suffix,
            bundled=bundled,
            kind=kind,
        )
        scratch = prepared or self.folder / ".incoming" / f"{avatar_id}-{uuid.uuid4().hex}"
        if prepared is None:
            scratch.mkdir()
            (scratch / record.image_file).write_bytes(data)
        np.save(scratch / "landmarks.npy", portrait.landmarks.astype(np.float32))
        _write_thumbnail(portrait.image, scratch / "thumb.jpg")
        (scratch / "meta.json").write_text(json.dumps(asdict(record)), encoding="utf-8")
        with self._lock:
            target = self.folder / avatar_id
            if target.exists():  # the same photo, uploaded twice at once: keep the first
                shutil.rmtree(scratch, ignore_errors=True)
            else:
                scratch.rename(target)
        return self.get(avatar_id) or record

    def get(self, avatar_id: str) -> AvatarRecord | None:
        if not valid_id(avatar_id):
            return None
        try:
            meta = json.loads((self.folder / avatar_id / "meta.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return _record_from(meta)

    def list(self) -> list[AvatarRecord]:
        """The bundled avatar first, then uploads, newest first."""
        records = [self.get(path.name) for path in self.folder.iterdir() if path.is_dir()]
        found = [record for record in records if record is not None]
        return sorted(found, key=lambda r: (not r.bundled, -r.created))

    def thumbnail(self, avatar_id: str) -> Path | None:
        path = self.folder / avatar_id / "thumb.jpg"
        return path if valid_id(avatar_id) and path.is_file() else None

    def rigged(self, avatar_id: str, size: int, full_frame: bool, fps: float = 25.0) -> AnyAvatar:
        """The avatar framed and rigged for a render, from the files (no face detection;
        a clip is read again only at a size or rate it was not read at before)."""
        key = (avatar_id, size, full_frame, fps)
        with self._lock:
            if key in self._rigs:
                self._rigs.move_to_end(key)
                return self._rigs[key]
        avatar = self._build(avatar_id, size, full_frame, fps)
        with self._lock:
            self._rigs[key] = avatar
            while len(self._rigs) > RIG_CACHE_SIZE:
                self._rigs.popitem(last=False)
        return avatar

    def _build(self, avatar_id: str, size: int, full_frame: bool, fps: float) -> AnyAvatar:
        record = self.get(avatar_id)
        if record is None:
            raise ImageError(f"the avatar {avatar_id!r} no longer exists")
        folder = self.folder / avatar_id
        if record.kind == "video":
            clip = read_clip(
                folder / record.image_file,
                size=size,
                full_frame=full_frame,
                fps=fps,
                max_seconds=self.max_clip_seconds,
                cache=folder,
            )
            return build_clip_avatar(clip)
        portrait = Portrait(
            image=load_image(folder / record.image_file, max_pixels=self.max_image_pixels),
            landmarks=np.load(folder / "landmarks.npy"),
            faces_found=record.faces_found,
            source=record.name,
            notes=record.notes,
        )
        framed = crop_portrait(portrait, size=size, full_frame=full_frame)
        return Avatar(portrait=framed, rig=build_rig(framed), source=f"avatar:{avatar_id}")


def _record_from(meta: dict[str, Any]) -> AvatarRecord:
    meta["face_box"] = tuple(meta["face_box"])
    meta["notes"] = tuple(meta["notes"])
    return AvatarRecord(**meta)


def _write_thumbnail(image: np.ndarray, path: Path) -> None:
    """The whole photo, longest side THUMB_SIDE: the page draws the face box over it."""
    height, width = image.shape[:2]
    scale = min(1.0, THUMB_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1 else image
    ok, jpeg = cv2.imencode(
        ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    if not ok:
        raise ImageError("could not write the thumbnail")
    path.write_bytes(jpeg.tobytes())
