"""Make the README's picture: frames of the bundled avatar at chosen sounds, labelled.

Run: make docs-media (writes docs/frames.png). Everything in it is rendered by AvatarLab.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

import avatarlab
from avatarlab.measure import frames_at
from avatarlab.motion.visemes import viseme_for

SCRIPT = "Bob, look at the moon! We see a blue map, and maybe a few purple mountains."
SHOWN = {"PP": "p b m: lips shut", "aa": "ah: wide", "ou": "oo: round", "ih": "ee: spread"}
TILE = 220


def pick_frames(result) -> list[tuple[int, str]]:
    """One frame per mouth shape worth showing (eyes open), then the widest blink."""
    fps, blink = result.options.fps, result.track.blink
    picks, seen = [], set()
    for phone in result.utterance.phones:
        viseme, index = viseme_for(phone.symbol), int(phone.middle * fps)
        if viseme in SHOWN and viseme not in seen and blink[index] < 0.05:
            seen.add(viseme)
            picks.append((index, SHOWN[viseme]))
    return picks + [(int(np.argmax(blink)), "blink")]


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = avatarlab.say(SCRIPT, output=Path(folder) / "demo.mp4")
        picks = pick_frames(result)
        indices, labels = [i for i, _ in picks], [label for _, label in picks]
        frames = frames_at(result.video_path, indices)
    tiles = []
    for index, label in zip(indices, labels, strict=True):
        frame = frames[index]
        h, w = frame.shape[:2]
        face = frame[int(0.12 * h) : int(0.72 * h), int(0.2 * w) : int(0.8 * w)]
        tile = cv2.resize(face, (TILE, TILE), interpolation=cv2.INTER_AREA)
        cv2.rectangle(tile, (0, TILE - 26), (TILE, TILE), (20, 20, 20), -1)
        cv2.putText(
            tile,
            label,
            (8, TILE - 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        tiles.append(tile)
    strip = np.concatenate(tiles, axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "frames.png")
