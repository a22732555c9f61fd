"""`avatarlab inspect` on videos with known truth, made by the tests."""

from dataclasses import replace

import numpy as np
import pytest
from skimage import data

from avatarlab.inspect import contact_sheet, inspect_video, to_json, write_report
from avatarlab.inspect.report import PANELS, report_figure
from avatarlab.render import render_frames
from avatarlab.video import read_frames, write_video


def _remux(source, out, shift_s=0.0):
    """The same frames with the audio moved later (+) or earlier (-) by ``shift_s``."""
    result = source
    audio, rate = result.utterance.audio, result.utterance.sample_rate
    shift = int(abs(shift_s) * rate)
    if shift_s > 0:
        audio = np.concatenate([np.zeros(shift, np.float32), audio[: len(audio) - shift]])
    elif shift_s < 0:
        audio = np.concatenate([audio[shift:], np.zeros(shift, np.float32)])
    write_video(
        out, read_frames(result.video_path), fps=result.options.fps, audio=audio, sample_rate=rate
    )
    return out


def _rerender(result, out, **changes):
    """The same speech and face with some motion channels replaced."""
    track = replace(result.track, **changes)
    write_video(
        out,
        render_frames(result.avatar.rig, track),
        fps=track.fps,
        audio=result.utterance.audio,
        sample_rate=result.utterance.sample_rate,
    )
    return out


def _frozen_mouth(result, out):
    """The same clip with the mouth held half open throughout."""
    n = result.track.n_frames
    return _rerender(
        result, out, mouth_open=np.full(n, 0.35, np.float32), jaw=np.full(n, 0.3, np.float32)
    )


@pytest.fixture(scope="module")
def inspected(bilabial_render):
    return inspect_video(bilabial_render.video_path, phones=bilabial_render.utterance.phones)


def test_our_render_passes_its_own_yardstick(inspected):
    figures = inspected.figures
    assert figures["face_found_share"] == 1.0
    assert figures["bilabial_closure_rate"] == 1.0
    assert figures["open_closed_ratio"] > 3
    assert abs(figures["av_length_gap_s"]) <= 1 / 25
    assert abs(figures["lag_ms"]) <= 60  # loudness and lip opening peak together
    assert figures["landmark_jitter_pct"] < 2.0


@pytest.mark.parametrize("shift", [0.08, -0.08, 0.2, -0.2, 0.4, -0.4])
def test_measured_lag_follows_an_audio_shift_within_a_frame(
    bilabial_render, inspected, tmp_path, shift
):
    moved = _remux(bilabial_render, tmp_path / "shifted.mp4", shift)
    figures = inspect_video(moved, phones=bilabial_render.utterance.phones).figures
    # Sound later by 200 ms means the mouth now comes 200 ms before it: the lag drops by 200.
    change = figures["lag_ms"] - inspected.figures["lag_ms"]
    assert abs(change + shift * 1000) <= 40, change


def test_a_frozen_mouth_collapses_the_lipsync_figures(bilabial_render, tmp_path):
    frozen = _frozen_mouth(bilabial_render, tmp_path / "frozen.mp4")
    figures = inspect_video(frozen, phones=bilabial_render.utterance.phones).figures
    assert figures["bilabial_closure_rate"] < 0.2
    assert figures["open_closed_ratio"] < 1.5


def test_blinks_are_counted_and_vanish_when_removed(bilabial_render, inspected, tmp_path):
    expected = int(np.sum(np.diff((bilabial_render.track.blink > 0.5).astype(int)) == 1))
    assert inspected.figures["blinks"] == expected >= 1
    n = bilabial_render.track.n_frames
    still = _rerender(bilabial_render, tmp_path / "still.mp4", blink=np.zeros(n, np.float32))
    figures = inspect_video(still, phones=bilabial_render.utterance.phones).figures
    assert figures["blinks"] == 0 and figures["blinks_per_minute"] == 0


def test_background_psnr_against_the_source_photo(bilabial_render, tmp_path):
    import cv2

    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), data.astronaut()[..., ::-1])
    figures = inspect_video(
        bilabial_render.video_path, source=photo, phones=bilabial_render.utterance.phones
    ).figures
    assert figures["background_psnr_db"] > 30  # untouched, up to H.264 and resampling


def test_report_has_every_panel_and_a_contact_sheet(inspected, tmp_path):
    sheet = contact_sheet(inspected)
    assert 4 <= len(sheet) <= 8
    figure = report_figure(inspected.measures, list(inspected.phones), inspected.figures, sheet)
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    for panel in PANELS:
        assert panel in titles
    lip_axes = figure.axes[titles.index("lip gap")]
    markers = [line for line in lip_axes.get_lines() if line.get_marker() == "o"]
    assert len(markers) == inspected.figures["bilabials"]
    assert all(m.get_color() == "#2a9d4a" for m in markers)  # all closed: all green
    png, js = tmp_path / "r.png", tmp_path / "r.json"
    write_report(inspected, png, js)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert '"bilabial_closure_rate": 1.0' in js.read_text() == to_json(inspected)


def test_phones_come_from_the_videos_own_audio(bilabial_render, tmp_path):
    """Any video, no timeline given: the transcript is aligned, or the phones recognized."""
    from conftest import BILABIAL_SCRIPT

    aligned = inspect_video(bilabial_render.video_path, text=BILABIAL_SCRIPT).figures
    assert aligned["phones_from"] == "alignment"
    assert aligned["bilabials"] == len(
        [p for p in bilabial_render.utterance.phones if p.symbol in "pbm"]
    )
    # The aligner counts a stop's silent closure into it, a little earlier than the voice
    # places it (see test_align), so not every middle frame of ours is shut: most are.
    assert aligned["bilabial_closure_rate"] >= 0.75
    assert aligned["open_closed_ratio"] > 3
    recognized = inspect_video(bilabial_render.video_path).figures
    assert recognized["phones_from"] == "recognition"
    assert recognized["bilabials"] >= 10
    frozen = _frozen_mouth(bilabial_render, tmp_path / "frozen.mp4")
    figures = inspect_video(frozen, text=BILABIAL_SCRIPT).figures
    assert figures["bilabial_closure_rate"] < 0.2


def _painted(frame: np.ndarray, portrait, kind: str, lip_colour: np.ndarray) -> np.ndarray:
    """The frame with damage of one kind drawn on the chin, the way a broken renderer
    draws it: a lip-coloured patch, or contour lines like a map's."""
    import cv2

    from avatarlab.face.geometry import face_frame, face_parts

    damaged = frame.copy()
    landmarks = portrait.landmarks
    frame_axes = face_frame(landmarks)
    lips = landmarks[list(face_parts().outer_lips.lower), :2]
    chin = lips.mean(axis=0) + frame_axes.to_pixels(np.array([0.0, 0.35]))
    unit = frame_axes.eye_distance
    centre = tuple(int(v) for v in chin)
    if kind == "patch":
        colour = tuple(int(c) for c in lip_colour)
        cv2.ellipse(damaged, centre, (int(0.35 * unit), int(0.12 * unit)), 0, 0, 360, colour, -1)
    else:
        for ring in range(1, 8):
            axes = (int(0.07 * ring * unit), int(0.03 * ring * unit))
            cv2.ellipse(damaged, centre, axes, 0, 0, 360, (90, 60, 40), 1, cv2.LINE_AA)
    return damaged


@pytest.mark.parametrize("kind", ["patch", "contours"])
def test_artifact_figures_see_damage_on_the_chin(astronaut, kind):
    from avatarlab.face import detect_landmarks
    from avatarlab.inspect import artifacts
    from avatarlab.render import render_frame
    from avatarlab.types import FacePose

    portrait = astronaut.portrait
    reference = artifacts.skin_reference(portrait.image, portrait.landmarks)
    clean = render_frame(astronaut.rig, FacePose(mouth_open=0.6, jaw=0.5))
    fine = artifacts.skin_figures(clean, detect_landmarks(clean)[0], reference)
    assert fine.new_edges <= artifacts.MAX_NEW_EDGES
    assert fine.skin_change <= artifacts.MAX_SKIN_CHANGE
    assert fine.lip_like_share <= artifacts.MAX_LIP_LIKE_SHARE
    damaged = _painted(clean, portrait, kind, astronaut.rig.look.lips)
    seen = artifacts.skin_figures(damaged, detect_landmarks(damaged)[0], reference)
    if kind == "patch":
        assert seen.lip_like_share > artifacts.MAX_LIP_LIKE_SHARE
        assert seen.skin_change > artifacts.MAX_SKIN_CHANGE
    else:
        assert seen.new_edges > max(artifacts.MAX_NEW_EDGES, fine.new_edges + 0.01)


def test_edge_repeat_counts_streaks_not_soft_borders(astronaut):
    import cv2

    from avatarlab.inspect.artifacts import edge_repeat

    photo = astronaut.portrait.image
    assert edge_repeat(photo) == 0
    streaked = cv2.copyMakeBorder(photo[:, 40:], 0, 0, 40, 0, cv2.BORDER_REPLICATE)
    assert edge_repeat(streaked) >= 35
    soft = cv2.GaussianBlur(photo, (0, 0), 12)
    assert edge_repeat(soft) == 0


def test_inspect_reports_artifacts_against_the_source(bilabial_render, tmp_path):
    import cv2

    from avatarlab.inspect import artifacts

    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), data.astronaut()[..., ::-1])
    figures = inspect_video(
        bilabial_render.video_path, source=photo, phones=bilabial_render.utterance.phones
    ).figures
    assert figures["edge_repeat"] == 0
    assert figures["new_edges"] <= artifacts.MAX_NEW_EDGES
    assert figures["skin_change"] <= artifacts.MAX_SKIN_CHANGE
    assert figures["lip_like_share"] <= artifacts.MAX_LIP_LIKE_SHARE
