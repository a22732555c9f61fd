"""A clip made ready to animate, built once and kept on disk; and its frames for a track.

Building reads the clip (``read``), describes every mouth (``atlas``), finds the turning
points for looping (``timeline``) and rigs the warp renderer on the clip's most neutral
frame (the fallback for mouths the clip never shows). Everything is written to a cache
folder named by the file's content and the framing, so the second use of a clip costs no
decoding or tracking at all. A folder is complete or absent: it is built under a
temporary name and renamed at the end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..errors import InputError, NoFaceError, OutputError
from ..face.portrait import CROP_FACE_HEIGHTS
from ..render import Rig, build_rig, render_frame
from ..types import FacePose, Portrait, Track
from .atlas import MouthAtlas, build_atlas, mouth_row
from .choose import RIG, Costs, choose_mouths, pose_costs
from .look import clip_mouth_look
from .place import place_mouth
from .read import Framing, check_clip, find_framing, framed_frames
from .store import FrameStore, FrameWriter
from .timeline import Loop, find_loop

CACHE_VERSION = 2
"""Bumped whenever what is stored changes: older folders are then rebuilt."""
MIN_FOUND_SHARE = 0.5
SMOOTHING = 1.0
"""Gaussian σ in frames for the landmarks that place mouths (tracking jitter would shake
the pasted mouth against its face); the atlas is measured on the raw landmarks."""
_CHANGE_SIDE = 96
SMALL_FACE_PX = 100
"""A face shorter than this in the clip (brow to chin, source pixels) is worth a note: its
mouths are enlarged several times, soft, and their lip gaps are read less surely."""

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Clip:
    """A clip's frames (upright, framed, at ``fps``) with the face tracked on each."""

    source: str
    fps: float
    frames: FrameStore
    landmarks: np.ndarray
    """n×478×3 float32, smoothed over time; NaN where the face was lost."""
    raw_landmarks: np.ndarray
    atlas: MouthAtlas
    change: np.ndarray
    """Mean absolute grey-level change from the previous frame (0 for the first)."""
    has_audio: bool
    notes: tuple[str, ...]

    @property
    def n_frames(self) -> int:
        return len(self.change)

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.landmarks[:, 0, 0])

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps


def cache_root() -> Path:
    """$AVATARLAB_CACHE, else $XDG_CACHE_HOME/avatarlab, else ~/.cache/avatarlab."""
    if os.environ.get("AVATARLAB_CACHE"):
        return Path(os.environ["AVATARLAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "avatarlab"


def read_clip(
    path: str | Path,
    *,
    size: int = 512,
    full_frame: bool = False,
    fps: float | None = None,
    max_seconds: float = 120.0,
    progress: Progress | None = None,
    cache: Path | None = None,
) -> Clip:
    """The clip at ``path``, from the cache (``cache``, default ``cache_root()``) when it
    was read before with these settings. ``fps`` None keeps the clip's own rate."""
    path = Path(path).resolve()
    info = check_clip(path, max_seconds)
    fps = float(fps or info.fps or 25.0)
    settings = f"{size}|{full_frame}|{fps:.4f}|{CACHE_VERSION}"
    folder = (cache or cache_root()) / "clips" / _content_key(path, settings)
    if not (folder / "meta.json").exists():
        framing = find_framing(path, info, size=size, full_frame=full_frame)
        expected = round((info.duration or 0) * fps)
        _build(path, framing, fps, info.has_audio, folder, expected, progress)
    return _load(folder)


def _content_key(path: Path, settings: str) -> str:
    """The cache folder's name: the file's bytes and the reading settings, so a copy or a
    moved file is found again and an edited one is not (hashing 100 MB takes 0.2 s)."""
    digest = hashlib.sha1(settings.encode())
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:24]


def _build(
    path: Path,
    framing: Framing,
    fps: float,
    has_audio: bool,
    folder: Path,
    expected: int,
    progress: Progress | None,
) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    except OSError as exc:
        raise OutputError(f"cannot write the clip cache in {folder.parent}: {exc}") from exc
    try:
        _build_into(work, path, framing, fps, has_audio, expected, progress)
        try:
            os.replace(work, folder)
        except OSError:  # another process finished the same clip first
            if not (folder / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build_into(work, path, framing, fps, has_audio, expected, progress) -> None:
    writer = FrameWriter(work)
    rows, tracks, changes, previous = [], [], [], None
    try:
        for index, (frame, landmarks) in enumerate(framed_frames(path, framing, fps)):
            writer.add(frame)
            rows.append(mouth_row(frame, landmarks))
            tracks.append(landmarks)
            small = cv2.resize(
                cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY),
                (_CHANGE_SIDE, _CHANGE_SIDE),
                interpolation=cv2.INTER_AREA,
            ).astype(np.float32)
            changes.append(0.0 if previous is None else float(np.abs(small - previous).mean()))
            previous = small
            if progress:
                progress("clip", index + 1, max(expected, index + 1))
    finally:
        writer.finish()
    if not rows:
        raise InputError(f"cannot read {path.name}: no frame could be decoded")
    raw = np.stack([_or_nan(points) for points in tracks])
    found = ~np.isnan(raw[:, 0, 0])
    share = float(found.mean())
    if share < MIN_FOUND_SHARE:
        raise NoFaceError(
            f"the face in {path.name} is lost on {1 - share:.0%} of the frames: a video "
            "avatar needs the face in view most of the time"
        )
    np.save(work / "landmarks.npy", _smoothed(raw, found))
    np.save(work / "raw_landmarks.npy", raw)
    np.save(work / "change.npy", np.array(changes, np.float32))
    build_atlas(rows).save(work / "atlas.npz")
    notes = []
    if not found.all():
        lost = int((~found).sum())
        notes.append(
            f"the face was not found on {lost} of {len(found)} frames "
            f"({_span(lost / fps)}): those frames are shown as filmed"
        )
    face_px = framing.window[2] / CROP_FACE_HEIGHTS
    if face_px < SMALL_FACE_PX:
        notes.append(
            f"the face is only {face_px:.0f} px tall in {path.name}: its mouths look soft "
            "when enlarged and lip-sync is less sure; a closer shot makes a sharper avatar"
        )
    meta = {"source": str(path), "fps": fps, "has_audio": has_audio, "notes": notes}
    (work / "meta.json").write_text(json.dumps(meta))


def _span(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _or_nan(points: np.ndarray | None) -> np.ndarray:
    return np.full((478, 3), np.nan, np.float32) if points is None else points


def _smoothed(raw: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Each run of tracked frames smoothed over time on its own (lost frames stay NaN)."""
    smooth = raw.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], found.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start > 1:
            smooth[start:end] = gaussian_filter1d(raw[start:end], SMOOTHING, axis=0, mode="nearest")
    return smooth


def _load(folder: Path) -> Clip:
    meta = json.loads((folder / "meta.json").read_text())
    return Clip(
        source=meta["source"],
        fps=meta["fps"],
        frames=FrameStore(folder),
        landmarks=np.load(folder / "landmarks.npy"),
        raw_landmarks=np.load(folder / "raw_landmarks.npy"),
        atlas=MouthAtlas.load(folder / "atlas.npz"),
        change=np.load(folder / "change.npy"),
        has_audio=meta["has_audio"],
        notes=tuple(meta["notes"]),
    )


@dataclass(frozen=True)
class ClipAvatar:
    """A clip as an avatar: its own frames behind, its own mouths chosen for the speech."""

    clip: Clip
    rig: Rig
    """The warp renderer on the clip's most neutral frame, for mouths the clip lacks."""
    neutral: int
    loop: Loop
    source: str
    costs: Costs = Costs()

    @property
    def portrait(self) -> Portrait:
        """The neutral frame: what a thumbnail or a face check shows."""
        index = self.neutral
        return Portrait(
            image=self.clip.frames[index],
            landmarks=self.clip.raw_landmarks[index],
            source=self.source,
            notes=self.clip.notes,
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return self.clip.notes

    @property
    def fps(self) -> float:
        return self.clip.fps

    def frames(self, track: Track, first_frame: int = 0) -> Iterator[np.ndarray]:
        """The output frames for ``track``, whose frame 0 is output frame ``first_frame``
        of the whole video (a stream's later sentences continue the loop)."""
        if abs(track.fps - self.clip.fps) > 1e-3:
            raise InputError(
                f"this video avatar was read at {self.clip.fps:g} fps; load it again at "
                f"{track.fps:g} fps to render at that rate"
            )
        plan = self.plan(track, first_frame)
        return self._render(track, *plan)

    def plan(self, track: Track, first_frame: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(clip frame behind each output frame, mouth shown on it: an entry or ``RIG``)."""
        backgrounds = self.loop.frames(first_frame, track.n_frames)
        atlas = self.clip.atlas
        rig_pose = _rig_pose_costs(atlas, self.neutral, backgrounds, self.costs)
        return backgrounds, choose_mouths(atlas, track, backgrounds, rig_pose, self.costs)

    def _render(
        self, track: Track, backgrounds: np.ndarray, mouths: np.ndarray
    ) -> Iterator[np.ndarray]:
        clip = self.clip
        for index, (behind, mouth) in enumerate(zip(backgrounds, mouths, strict=True)):
            frame = clip.frames[behind]
            if not clip.found[behind] or mouth == behind:
                yield frame.copy()
                continue
            if mouth == RIG:
                source, landmarks = self._rig_mouth(track, index)
            else:
                source, landmarks = clip.frames[mouth], clip.landmarks[mouth]
            yield place_mouth(frame, clip.landmarks[behind], source, landmarks)

    def _rig_mouth(self, track: Track, index: int) -> tuple[np.ndarray, np.ndarray]:
        pose = track.frame(index)
        mouth = FacePose(
            mouth_open=pose.mouth_open,
            jaw=pose.jaw,
            width=pose.width,
            tuck=pose.tuck,
            tongue=pose.tongue,
        )
        return render_frame(self.rig, mouth), self.clip.landmarks[self.neutral]


def _rig_pose_costs(atlas: MouthAtlas, neutral: int, backgrounds: np.ndarray, costs: Costs):
    return pose_costs(atlas, backgrounds, costs)[:, neutral]


def neutral_frame(atlas: MouthAtlas) -> int:
    """The frame the fallback rig is built on: the mouth as nearly shut as the clip has it
    (the warp renderer shuts a wide smile less well than a nearly closed mouth), the head
    in its usual pose."""
    found = atlas.found
    score = np.where(found, atlas.gap / 0.01, np.inf)
    for name, scale in (("yaw", 6.0), ("pitch", 6.0), ("roll", 6.0)):
        values = getattr(atlas, name)
        score = score + ((values - np.nanmedian(values)) / scale) ** 2
    return int(np.nanargmin(np.where(found, score, np.inf)))


def build_clip_avatar(clip: Clip) -> ClipAvatar:
    neutral = neutral_frame(clip.atlas)
    portrait = Portrait(
        image=clip.frames[neutral], landmarks=clip.raw_landmarks[neutral], source=clip.source
    )
    rig = build_rig(portrait)
    look = clip_mouth_look(rig.look, clip.frames, clip.landmarks, clip.atlas.gap)
    return ClipAvatar(
        clip=clip,
        rig=dataclasses.replace(rig, look=look),
        neutral=neutral,
        loop=find_loop(clip.change),
        source=clip.source,
    )
