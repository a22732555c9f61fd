"""The largest poses the motion can ask of the renderer, built from the motion's own limits.

Mouth shapes: every viseme's target with the stress boost and the highest articulation the
options allow (clipped as the lip-sync clips them). Head: the idle motion's amplitudes at
the highest head motion the options allow, in every corner. Brows raised or not, gaze far
past what saccades produce (the renderer holds irises inside the eye).
"""

from __future__ import annotations

import itertools
from dataclasses import fields

from avatarlab.motion.lipsync import LipsyncOptions
from avatarlab.motion.visemes import SHAPES
from avatarlab.options import Options
from avatarlab.types import FacePose

YAW, PITCH, ROLL, NOD = 2.5, 1.5, 1.2, 2.0
"""Amplitudes (degrees) of ``idle_track``'s head drift, and the nod on stressed vowels."""


def _option_high(name: str) -> float:
    field = next(f for f in fields(Options) if f.name == name)
    return float(field.metadata["high"])


def mouth_extremes() -> list[dict[str, float]]:
    boost = 1.0 + LipsyncOptions().stress_boost
    articulation = _option_high("articulation")
    shapes = []
    for shape in SHAPES.values():
        shapes.append(
            {
                "mouth_open": min(1.0, shape.mouth_open * boost * articulation),
                "jaw": min(1.0, shape.jaw * boost * articulation),
                "width": shape.width,
                "tuck": shape.tuck,
                "tongue": shape.tongue,
            }
        )
    return shapes


def head_extremes() -> list[dict[str, float]]:
    scale = _option_high("head_motion")
    yaws = (-YAW * scale, YAW * scale)
    pitches = (-PITCH * scale, (PITCH + NOD) * scale)
    rolls = (-ROLL * scale, ROLL * scale)
    return [
        {"yaw": y, "pitch": p, "roll": r} for y, p, r in itertools.product(yaws, pitches, rolls)
    ]


def extreme_poses() -> list[FacePose]:
    poses = []
    for mouth, head, brows in itertools.product(mouth_extremes(), head_extremes(), (0.0, 1.0)):
        poses.append(FacePose(**mouth, **head, brows=brows, gaze_x=0.3, gaze_y=-0.2))
    return poses
