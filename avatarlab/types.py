"""The values the pipeline's stages hand each other.

Time convention: every time is a float in seconds from the start of the utterance's audio.
Audio is mono float32 in [-1, 1] at ``sample_rate``. Images are H×W×3 uint8 RGB arrays.
Points are float32 pixel coordinates (x, y) in the image they were found in; a third column,
where present, is MediaPipe's relative depth scaled to pixels (larger = farther from camera).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass(frozen=True)
class Phone:
    """One speech sound and when it is heard."""

    symbol: str
    """The phone as its source writes it: IPA from Piper, ARPAbet from pocketsphinx."""
    start: float
    end: float
    stressed: bool = False
    """A primary-stressed vowel: opens a little wider and may bring a nod or raised brows."""

    @property
    def middle(self) -> float:
        return 0.5 * (self.start + self.end)


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Utterance:
    """Speech with its timeline: what the face will say."""

    audio: np.ndarray
    sample_rate: int
    phones: tuple[Phone, ...]
    words: tuple[Word, ...] = ()
    text: str = ""
    pauses: tuple[float, ...] = ()
    """Times of phrase ends (punctuation): the face relaxes and tends to blink there."""

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


@dataclass(frozen=True)
class Track:
    """Per-frame face parameters at ``fps``; every array has one value per video frame.

    Mouth values are targets for the renderer in face-normalised units: 0 is a closed,
    relaxed mouth and 1 the widest opening the renderer will draw.
    """

    fps: float
    mouth_open: np.ndarray
    """Inner-lip gap, 0 (lips touching) to 1 (wide open)."""
    jaw: np.ndarray
    """Jaw drop, 0 to 1: moves the chin and the lower lip and shows the lower teeth."""
    width: np.ndarray
    """Mouth corners: -1 rounded (oo, w) to +1 spread (ee)."""
    tuck: np.ndarray
    """Lower lip tucked under the upper teeth (f, v), 0 to 1."""
    tongue: np.ndarray
    """Tongue tip visible behind the teeth (th, l), 0 to 1."""
    blink: np.ndarray
    """Eyelid closure, 0 open to 1 shut."""
    gaze_x: np.ndarray
    """Iris shift, in eye widths (small: saccades)."""
    gaze_y: np.ndarray
    brows: np.ndarray
    """Brow raise, 0 rest to 1 raised."""
    yaw: np.ndarray
    """Head rotation in degrees: turn (yaw), nod (pitch, + is down) and tilt (roll)."""
    pitch: np.ndarray
    roll: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.mouth_open)

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def frame(self, index: int) -> FacePose:
        return FacePose(**{name: float(getattr(self, name)[index]) for name in POSE_FIELDS})


@dataclass(frozen=True)
class FacePose:
    """The parameters of one frame (the values of a ``Track`` at one index)."""

    mouth_open: float = 0.0
    jaw: float = 0.0
    width: float = 0.0
    tuck: float = 0.0
    tongue: float = 0.0
    blink: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0
    brows: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0


POSE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(FacePose))


@dataclass(frozen=True)
class Portrait:
    """A photo with the face found in it."""

    image: np.ndarray
    """The image the landmarks refer to (RGB uint8)."""
    landmarks: np.ndarray
    """478×3 float32: MediaPipe FaceMesh points (x, y in pixels, z depth in pixels)."""
    faces_found: int = 1
    """How many faces the detector saw; the largest one is used."""
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    """Things the user should know (several faces, downscaled, ...)."""
