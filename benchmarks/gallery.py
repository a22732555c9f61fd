"""Render every portrait in a folder saying one p/b/m-rich passage, and judge each render.

Run: python benchmarks/gallery.py ../shared/gallery/portraits [--out gallery-out] [--size 512]

For each portrait it writes ``<name>.png``, a contact sheet (the photo as cropped, the rest
frame, the widest-open frame, a bilabial frame, a blink, and the mouth of the widest frame
at 3×), and for all of them ``gallery.json`` and ``gallery.md``: the artifact, lip-sync and
blink figures of ``avatarlab.inspect.render_check``, with the thresholds the tests use.
Portraits where no face is found are listed with the message a user would get.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import avatarlab
from avatarlab.errors import AvatarLabError
from avatarlab.inspect import artifacts
from avatarlab.inspect.render_check import PASSAGE, check_render
from avatarlab.motion import MotionOptions, make_track
from avatarlab.render import render_frames
from avatarlab.speech import synthesize

IMAGE_TYPES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
TILE = 256
LIMITS = {
    "new_edges": artifacts.MAX_NEW_EDGES,
    "skin_change": artifacts.MAX_SKIN_CHANGE,
    "foreign_share": artifacts.MAX_FOREIGN_SHARE,
    "lip_like_share": artifacts.MAX_LIP_LIKE_SHARE,
    "edge_repeat": artifacts.MAX_EDGE_REPEAT,
}


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    cv2.rectangle(tile, (0, TILE - 24), (TILE, TILE), (20, 20, 20), -1)
    cv2.putText(tile, text, (6, TILE - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return tile


def _tile(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_AREA)


def _mouth_zoom(frame: np.ndarray, landmarks: np.ndarray, unit: float) -> np.ndarray:
    """The mouth at 3× (a square of 2.6 eye distances... magnified to a tile and a half)."""
    from avatarlab.face.geometry import face_parts

    lips = landmarks[list(face_parts().outer_lips.all), :2]
    cx, cy = lips.mean(axis=0)
    half = int(TILE / 3 / 2 * frame.shape[0] / 512) or 1
    half = max(half, int(0.6 * unit))
    y0, x0 = max(0, int(cy) - half), max(0, int(cx) - half)
    crop = frame[y0 : int(cy) + half, x0 : int(cx) + half]
    return cv2.resize(crop, (2 * TILE, 2 * TILE), interpolation=cv2.INTER_CUBIC)


def contact_sheet(
    avatar: avatarlab.Avatar, frames: dict[int, np.ndarray], picks: dict[str, int]
) -> np.ndarray:
    """Two rows of tiles and the 3× mouth on the right."""
    tiles = [_label(_tile(avatar.portrait.image), "photo")]
    for name, index in picks.items():
        tiles.append(_label(_tile(frames[index]), f"{name} #{index}"))
    while len(tiles) < 6:
        tiles.append(np.zeros((TILE, TILE, 3), np.uint8))
    grid = np.concatenate(
        [np.concatenate(tiles[:3], axis=1), np.concatenate(tiles[3:6], axis=1)], axis=0
    )
    landmarks = avatar.rig.shape.landmarks
    zoom = _mouth_zoom(frames[picks["widest"]], landmarks, avatar.rig.shape.unit)
    return np.concatenate([grid, zoom], axis=1)


def _picks(result_track, phones, check) -> dict[str, int]:
    fps = result_track.fps
    gaps = np.nan_to_num(check.lip_gap, nan=-1.0)
    bilabials = [p for p in phones if p.symbol in ("p", "b", "m")]
    bilabial = int(bilabials[len(bilabials) // 2].middle * fps) if bilabials else 0
    calm = result_track.mouth_open + result_track.blink + np.abs(result_track.yaw) / 10
    return {
        "rest": int(np.argmin(calm)),
        "widest": int(np.argmax(gaps)),
        "bilabial": bilabial,
        "blink": int(np.argmax(result_track.blink)),
    }


def judge(path: Path, utterance, size: int, out: Path) -> dict:
    """Render one portrait, write its sheet, return its row of figures."""
    row: dict = {"portrait": path.name}
    try:
        avatar = avatarlab.load_avatar(path, size=size)
    except AvatarLabError as error:
        row["error"] = error.message
        return row
    track = make_track(utterance, MotionOptions())
    started = time.perf_counter()
    frames = list(render_frames(avatar.rig, track))
    row["render_ms_per_frame"] = 1000 * (time.perf_counter() - started) / len(frames)
    check = check_render(frames, avatar.portrait, track.fps)
    row.update(check.figures(utterance.phones))
    row["notes"] = list(avatar.notes)
    row["per_frame"] = {
        "lip_gap": [round(float(g), 4) for g in check.lip_gap],
        **{
            name: [None if f is None else round(getattr(f, name), 4) for f in check.skin]
            for name in ("new_edges", "skin_change", "lip_like_share", "foreign_share")
        },
    }
    picks = _picks(track, utterance.phones, check)
    sheet = contact_sheet(avatar, dict(enumerate(frames)), picks)
    cv2.imwrite(str(out / f"{path.stem}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    row["failed"] = [k for k, limit in LIMITS.items() if row[k] > limit]
    return row


def _markdown(rows: list[dict]) -> str:
    columns = [
        "portrait",
        "new_edges",
        "skin_change",
        "foreign_share",
        "lip_like_share",
        "edge_repeat",
        "bilabial_closure_rate",
        "open_closed_ratio",
        "blinks_per_minute",
        "failed",
    ]
    limits = ", ".join(f"{k} ≤ {v}" for k, v in LIMITS.items())
    lines = [f"Limits: {limits}.", "", "| " + " | ".join(columns) + " |"]
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['portrait']} | {row['error']} |" + " |" * (len(columns) - 2))
            continue
        cells = []
        for column in columns:
            value = row.get(column, "")
            if isinstance(value, float):
                value = f"{value:.3f}"
            elif isinstance(value, list):
                value = ", ".join(value) or "–"
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder of portraits")
    parser.add_argument("--out", type=Path, default=Path("gallery-out"), help="where to write")
    parser.add_argument("--size", type=int, default=512, help="video side in pixels")
    parser.add_argument("--only", nargs="*", help="portrait file names to run (default: all)")
    args = parser.parse_args(argv)
    paths = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in IMAGE_TYPES)
    if args.only:
        paths = [p for p in paths if p.name in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    utterance = synthesize(PASSAGE)
    rows = []
    for path in paths:
        row = judge(path, utterance, args.size, args.out)
        rows.append(row)
        status = row.get("error") or (", ".join(row["failed"]) or "ok")
        print(f"{path.name:28s} {status}", flush=True)
    (args.out / "gallery.json").write_text(json.dumps(rows, indent=2))
    (args.out / "gallery.md").write_text(_markdown(rows))
    print(f"wrote {args.out.resolve()}/gallery.md and one sheet per portrait")
    return 0


if __name__ == "__main__":
    sys.exit(main())
