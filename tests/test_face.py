"""The face stage on the bundled astronaut and on images made from it: real MediaPipe.

Transformed photos check that landmarks follow the transform (scale, rotation, mirror,
offset) in MediaPipe's pixel convention, which is OpenCV's: pixel i is centred on i.
Tolerances are fractions of the eye distance (about 43 px on the astronaut).
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from gallery_faces import GALLERY
from PIL import Image, ImageOps

from avatarlab.errors import ImageError, InputError, NoFaceError
from avatarlab.face import (
    crop_portrait,
    default_avatar,
    detect_landmarks,
    eye_centres,
    face_anchor,
    face_height,
    find_face,
    load_image,
)
from avatarlab.face.landmarks import landmark_groups, scale_points
from avatarlab.inspect.artifacts import edge_repeat
from avatarlab.types import Portrait


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return default_avatar()


@pytest.fixture(scope="module")
def base(astronaut: np.ndarray) -> Portrait:
    return find_face(astronaut)


def eye_distance(landmarks: np.ndarray) -> float:
    left, right = eye_centres(landmarks)
    return float(np.hypot(*(right - left)))


def median_error(found: np.ndarray, expected: np.ndarray) -> float:
    return float(np.median(np.hypot(*(found[:, :2] - expected[:, :2]).T)))


def warp_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points[:, :2] @ matrix[:, :2].T + matrix[:, 2]


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def black_png(width: int, height: int) -> bytes:
    """A valid 8-bit gray PNG of zeros, built row block by row block: tiny on disk and in RAM
    however many pixels it claims."""
    packer = zlib.compressobj(1)
    rows = bytes(width + 1) * 50  # each row: filter byte 0, then the pixels
    body = [packer.compress(rows) for _ in range(height // 50)]
    body.append(packer.compress(bytes(width + 1) * (height % 50)))
    body.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"".join(body))
        + png_chunk(b"IEND", b"")
    )


# --- finding the face -------------------------------------------------------------------


def test_astronaut_one_face_in_the_right_place(base: Portrait) -> None:
    assert base.faces_found == 1 and base.notes == ()
    assert base.landmarks.shape == (478, 3) and base.landmarks.dtype == np.float32
    assert base.image.shape == (512, 512, 3)
    # Measured: face box ≈ (179, 71)-(271, 177); iris centres (203.5, 101), (246.5, 103.5);
    # lips centred on (223, 143).
    x0, y0 = base.landmarks[:, :2].min(axis=0)
    x1, y1 = base.landmarks[:, :2].max(axis=0)
    assert 165 < x0 < 195 and 255 < x1 < 285 and 55 < y0 < 85 and 165 < y1 < 190
    left, right = eye_centres(base.landmarks)
    assert np.allclose(left, (203.5, 101), atol=6) and np.allclose(right, (246.5, 103.5), atol=6)
    mouth = base.landmarks[landmark_groups().lips, :2].mean(axis=0)
    assert np.allclose(mouth, (223, 143), atol=6)
    assert 95 < face_height(base.landmarks) < 120


def test_detect_landmarks_matches_find_face(astronaut: np.ndarray, base: Portrait) -> None:
    faces = detect_landmarks(astronaut)
    assert len(faces) == 1 and faces[0].shape == (478, 3) and faces[0].dtype == np.float32
    assert median_error(faces[0], base.landmarks) < 0.03 * eye_distance(base.landmarks)
    assert detect_landmarks(np.full((300, 300, 3), 127, np.uint8)) == []
    with pytest.raises(ValueError):
        detect_landmarks(astronaut[:, :, 0])


def test_detect_landmarks_is_safe_across_threads(astronaut: np.ndarray) -> None:
    expected = detect_landmarks(astronaut)[0]
    results: list[np.ndarray] = []

    def work() -> None:
        for _ in range(3):
            results.append(detect_landmarks(astronaut)[0])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 9
    assert all(np.allclose(found, expected, atol=1e-3) for found in results)


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_scaled_photo(astronaut: np.ndarray, base: Portrait, scale: float) -> None:
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    side = round(512 * scale)
    found = find_face(cv2.resize(astronaut, (side, side), interpolation=method))
    expected = scale_points(base.landmarks, scale, scale)
    assert median_error(found.landmarks, expected) < 0.04 * eye_distance(expected)
    assert eye_distance(found.landmarks) == pytest.approx(eye_distance(expected), rel=0.04)
    # Half size leaves a 53-pixel face: the user is told the video will be soft.
    assert any("pixels tall" in note for note in found.notes) == (scale < 1)


@pytest.mark.parametrize("angle", [-30, -15, 15, 30])
def test_rotated_photo(astronaut: np.ndarray, base: Portrait, angle: float) -> None:
    matrix = cv2.getRotationMatrix2D((255.5, 255.5), angle, 1.0)
    rotated = cv2.warpAffine(astronaut, matrix, (512, 512), borderMode=cv2.BORDER_REPLICATE)
    found = find_face(rotated)
    expected = warp_points(matrix, base.landmarks)
    assert median_error(found.landmarks, expected) < 0.05 * eye_distance(base.landmarks)
    left, right = eye_centres(found.landmarks)
    roll = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
    base_left, base_right = eye_centres(base.landmarks)
    base_roll = np.degrees(np.arctan2(*(base_right - base_left)[::-1]))
    assert roll == pytest.approx(base_roll - angle, abs=3)  # OpenCV's + angle turns it CCW


def test_mirrored_photo_swaps_left_and_right(astronaut: np.ndarray, base: Portrait) -> None:
    found = find_face(np.ascontiguousarray(astronaut[:, ::-1]))
    left, right = eye_centres(found.landmarks)
    base_left, base_right = eye_centres(base.landmarks)
    # The image-left eye of the mirror image is the original's image-right eye, mirrored.
    assert np.allclose(left, (511 - base_right[0], base_right[1]), atol=2)
    assert np.allclose(right, (511 - base_left[0], base_left[1]), atol=2)
    assert eye_distance(found.landmarks) == pytest.approx(eye_distance(base.landmarks), rel=0.03)


def test_small_face_off_centre_in_a_big_canvas(astronaut: np.ndarray, base: Portrait) -> None:
    """The face spans 6% of the canvas: too small for MediaPipe's detector on the whole
    image, so this exercises the window search and the full-resolution refinement."""
    canvas = np.full((1200, 1600, 3), 128, np.uint8)
    canvas[500:1012, 900:1412] = astronaut
    found = find_face(canvas)
    assert found.faces_found == 1
    expected = base.landmarks[:, :2] + (900, 500)
    assert median_error(found.landmarks, expected) < 2.0
    assert np.allclose(eye_centres(found.landmarks), eye_centres(expected), atol=3)


def test_grayscale_photo(astronaut: np.ndarray, base: Portrait) -> None:
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    found = find_face(gray)
    assert found.image.shape == (512, 512, 3)
    assert median_error(found.landmarks, base.landmarks) < 0.05 * eye_distance(base.landmarks)


def test_two_faces_uses_the_larger(astronaut: np.ndarray, base: Portrait) -> None:
    small = cv2.resize(astronaut, (300, 300), interpolation=cv2.INTER_AREA)
    pair = np.full((512, 832, 3), 200, np.uint8)
    pair[:300, :300] = small
    pair[:, 320:] = astronaut
    found = find_face(pair)
    assert found.faces_found == 2
    assert "found 2 faces; using the largest" in found.notes
    expected = base.landmarks[:, :2] + (320, 0)
    assert median_error(found.landmarks, expected) < 0.05 * eye_distance(base.landmarks)


def test_no_face_names_the_file(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 255, 640).astype(np.uint8), (480, 1))
    path = tmp_path / "gradient.png"
    cv2.imwrite(str(path), ramp)
    with pytest.raises(NoFaceError) as caught:
        find_face(path)
    assert str(caught.value) == (
        f"no face found in {path}: use a photo with one clearly visible face, "
        "looking roughly at the camera"
    )
    assert caught.value.code == "no_face"
    with pytest.raises(NoFaceError, match="no face found in the image"):
        find_face(np.dstack([ramp] * 3))


def test_find_face_reads_files(tmp_path: Path, astronaut: np.ndarray, base: Portrait) -> None:
    path = tmp_path / "me.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    found = find_face(path)
    assert found.source == str(path)
    assert np.array_equal(found.image, astronaut)
    assert np.allclose(found.landmarks, base.landmarks, atol=1e-3)
    with pytest.raises(InputError, match="detect_side"):
        find_face(astronaut, detect_side=64)


# --- reading images ---------------------------------------------------------------------


def test_default_avatar_is_a_private_copy() -> None:
    first = default_avatar()
    assert first.shape == (512, 512, 3) and first.dtype == np.uint8
    first[:] = 0
    assert default_avatar().any()


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".bmp"])
def test_load_image_formats(tmp_path: Path, astronaut: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"astronaut{suffix}"
    assert cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    image = load_image(path)
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    assert image.flags.c_contiguous
    assert np.abs(image.astype(int) - astronaut).mean() < 4  # lossy formats: close


def test_load_image_arrays(astronaut: np.ndarray) -> None:
    gray = load_image(astronaut[:, :, 1])
    assert gray.shape == (512, 512, 3) and np.array_equal(gray[:, :, 0], astronaut[:, :, 1])
    rgba = np.dstack([astronaut, np.full((512, 512), 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    rgb = load_image(rgba)
    assert (rgb[:10, :10] == 255).all() and np.array_equal(rgb[20:], astronaut[20:])
    assert np.array_equal(load_image(astronaut.astype(np.uint16) * 257), astronaut)
    copy = load_image(astronaut)
    assert copy is not astronaut and np.array_equal(copy, astronaut)
    with pytest.raises(ImageError, match="must be uint8"):
        load_image(astronaut / 255.0)
    with pytest.raises(ImageError, match="at least 64 pixels"):
        load_image(astronaut[:40])
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((100, 100, 2), np.uint8))


def test_load_image_rgba_file_over_white(tmp_path: Path) -> None:
    bgra = np.zeros((80, 80, 4), np.uint8)
    bgra[:, :40] = (255, 0, 0, 255)  # opaque blue on the left, transparent on the right
    path = tmp_path / "cutout.png"
    cv2.imwrite(str(path), bgra)
    image = load_image(path)
    assert (image[:, :40] == (0, 0, 255)).all() and (image[:, 40:] == 255).all()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_load_image_honours_exif_orientation(tmp_path: Path, orientation: int) -> None:
    pixels = np.random.default_rng(orientation).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.png"
    Image.fromarray(pixels).save(path, exif=exif)
    with Image.open(path) as stored:
        expected = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))
    assert np.array_equal(load_image(path), expected)


def test_load_image_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nobody.jpg"
    with pytest.raises(ImageError, match=f"image file not found: {missing}"):
        load_image(missing)
    with pytest.raises(ImageError, match="is a folder, not an image file") as caught:
        load_image(tmp_path)
    assert str(tmp_path) in str(caught.value)
    empty = tmp_path / "empty.png"
    empty.touch()
    with pytest.raises(ImageError, match=r"empty\.png is empty \(0 bytes\)"):
        load_image(empty)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    with pytest.raises(ImageError, match=r"cannot read .*corrupt\.jpg: the file is corrupt"):
        load_image(corrupt)
    text = tmp_path / "notes.png"
    text.write_text("not a picture\n")
    with pytest.raises(ImageError, match=r"notes\.png") as caught:
        load_image(text)
    assert caught.value.code == "bad_image" and "\n" not in str(caught.value)
    bulky = tmp_path / "bulky.jpg"
    bulky.write_bytes(bytes(1_100_000))
    with pytest.raises(ImageError, match=r"bulky\.jpg is 1 MB, too big"):
        load_image(bulky, max_pixels=10_000)  # refused before it is read
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((32, 48, 3), np.uint8))
    with pytest.raises(ImageError, match=r"tiny\.png is only 48×32 pixels"):
        load_image(tiny)


def test_too_many_pixels_is_refused_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    path.write_bytes(black_png(8000, 6000))
    with pytest.raises(ImageError, match=r"wide\.png is 8000×6000 \(48\.0 megapixels\)") as e:
        load_image(path)
    assert "the limit is 40 megapixels (40,000,000 pixels)" in str(e.value)
    assert load_image(path, max_pixels=50_000_000).shape == (6000, 8000, 3)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_huge_png_is_refused_without_decoding(tmp_path: Path) -> None:
    """20,000×20,000 would take 1.2 GB as RGB. The peak is read in a fresh process from
    VmHWM (ru_maxrss would include this process's memory: exec keeps the parent's peak)."""
    path = tmp_path / "huge.png"
    path.write_bytes(black_png(20_000, 20_000))
    assert path.stat().st_size < 3_000_000
    script = (
        "import re, sys\n"
        "from avatarlab.errors import ImageError\n"
        "from avatarlab.face import load_image\n"
        "try:\n"
        "    load_image(sys.argv[1])\n"
        "except ImageError as error:\n"
        "    print(error)\n"
        "status = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) // 1024)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    message, peak_mb = run.stdout.strip().splitlines()
    assert "huge.png is too large" in message
    assert "the limit is 40 megapixels (40,000,000 pixels)" in message
    assert int(peak_mb) < 300


# --- framing ----------------------------------------------------------------------------


def assert_transformed_like_redetection(cropped: Portrait, tolerance: float = 0.02) -> None:
    faces = detect_landmarks(cropped.image)
    assert faces, "no face in the cropped portrait"
    unit = eye_distance(cropped.landmarks)
    assert median_error(faces[0], cropped.landmarks) < tolerance * unit
    assert np.allclose(faces[0][:, 2].std(), cropped.landmarks[:, 2].std(), rtol=0.15)


def test_crop_centres_the_face(astronaut: np.ndarray, base: Portrait) -> None:
    canvas = np.full((1200, 1600, 3), 128, np.uint8)
    canvas[300:812, 500:1012] = astronaut
    portrait = Portrait(canvas, base.landmarks + np.float32([500, 300, 0]), source="c.png")
    cropped = crop_portrait(portrait)
    assert cropped.image.shape == (512, 512, 3) and cropped.landmarks.dtype == np.float32
    assert np.allclose(face_anchor(cropped.landmarks), (256, 256), atol=1.5)
    # 2.6 face heights across the square.
    assert face_height(cropped.landmarks) == pytest.approx(512 / 2.6, rel=0.01)
    assert cropped.notes == () and cropped.source == "c.png"
    assert_transformed_like_redetection(cropped)


@pytest.mark.parametrize("size", [256, 1024])
def test_crop_sizes_keep_landmarks_exact(base: Portrait, size: int) -> None:
    cropped = crop_portrait(base, size=size)
    assert cropped.image.shape == (size, size, 3)
    # The astronaut's face is near the top: the square is shifted down, not padded.
    assert cropped.notes == ()
    assert face_anchor(cropped.landmarks)[0] == pytest.approx(size / 2, abs=size / 256)
    assert face_anchor(cropped.landmarks)[1] < size / 2
    assert_transformed_like_redetection(cropped)


def test_crop_extends_a_tight_photo_smoothly_without_streaks(astronaut: np.ndarray) -> None:
    tight = np.ascontiguousarray(astronaut[40:220, 140:310])  # 170 wide, face 107 tall
    portrait = find_face(tight)
    cropped = crop_portrait(portrait)
    assert cropped.image.shape == (512, 512, 3)
    assert cropped.notes == ()  # nothing alarming to say: the picture is just wider
    # Shrunk to the minimum of 1.8 face heights before extending.
    assert face_height(cropped.landmarks) == pytest.approx(512 / 1.8, rel=0.01)
    assert np.allclose(face_anchor(cropped.landmarks), (256, 256), atol=2)
    # The left columns lie beyond the photo: no streaks (rows repeating one pixel), but a
    # soft continuation of the picture that fades out detail with distance.
    assert edge_repeat(cropped.image) == 0
    left = cropped.image[:, :20].astype(int)
    assert np.abs(left - left[:, :1]).max() > 10
    outer, inner = cropped.image[:, :10], cropped.image[:, 60:70]
    assert _detail(outer) < 0.5 * _detail(inner)
    # Edge-replicated, the same crop would have streaked.
    replicated = cv2.copyMakeBorder(tight, 0, 0, 60, 60, cv2.BORDER_REPLICATE)
    assert edge_repeat(replicated) >= 50
    assert_transformed_like_redetection(cropped, tolerance=0.03)


def _detail(image: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: how sharp a region is."""
    gray = image.astype(float).mean(axis=2)
    return float(np.abs(np.diff(gray, axis=0)).mean() + np.abs(np.diff(gray, axis=1)).mean())


def test_crop_shifts_inside_for_a_face_at_the_corner(astronaut: np.ndarray) -> None:
    canvas = np.full((1200, 1600, 3), 128, np.uint8)
    canvas[:400, :400] = astronaut[:400, 112:]
    portrait = find_face(canvas)
    cropped = crop_portrait(portrait)
    assert cropped.notes == ()
    anchor = face_anchor(cropped.landmarks)
    assert anchor[0] < 240 and anchor[1] < 240  # off-centre, towards the real corner
    assert_transformed_like_redetection(cropped)


def test_full_frame_keeps_the_photo(base: Portrait, astronaut: np.ndarray) -> None:
    odd = Portrait(astronaut[:511, :509].copy(), base.landmarks)
    kept = crop_portrait(odd, full_frame=True)
    assert kept.image.shape == (510, 508, 3)
    assert np.array_equal(kept.landmarks, base.landmarks)
    big = cv2.resize(astronaut, (3000, 3000), interpolation=cv2.INTER_CUBIC)
    canvas = np.zeros((3000, 4000, 3), np.uint8)
    canvas[:, 1000:] = big
    scale = 3000 / 512
    landmarks = scale_points(base.landmarks, scale, scale) + np.float32([1000, 0, 0])
    portrait = Portrait(canvas, landmarks)
    shrunk = crop_portrait(portrait, full_frame=True)
    assert shrunk.image.shape == (1440, 1920, 3)
    assert any("downscaled from 4000×3000 to 1920×1440" in note for note in shrunk.notes)
    assert_transformed_like_redetection(shrunk)


@pytest.mark.parametrize("size", [100, 127, 513, 2050, 4096, 512.0, True])
def test_crop_size_must_be_even_and_in_range(base: Portrait, size: object) -> None:
    with pytest.raises(InputError, match="size must be"):
        crop_portrait(base, size=size)  # type: ignore[arg-type]


ANIMAL_PORTRAITS = tuple(f"s{n}.jpg" for n in (25, 30, 31, 32, 36, 38, 39, 40))
FACELESS_ANIMALS = ("s23.jpg", "s33.jpg", "s41.jpg")
"""The gallery's other animals: FaceMesh finds no face at all. Its monkey (s22) is found,
and the gallery tests hold its render to the same standard as a person's."""


def test_a_person_scores_as_a_person(astronaut: np.ndarray, base: Portrait) -> None:
    from avatarlab.face.landmarks import HUMAN_FACE_SCORE, human_face_score

    assert human_face_score(astronaut, base.landmarks) > HUMAN_FACE_SCORE + 0.2
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    assert human_face_score(mirrored, find_face(mirrored).landmarks) > HUMAN_FACE_SCORE + 0.2


@pytest.mark.parametrize("name", [name for name in ANIMAL_PORTRAITS if (GALLERY / name).is_file()])
def test_an_animal_is_refused_with_a_clear_message(name: str) -> None:
    """FaceMesh fits a face to these dogs, alpacas and cats of the shared gallery; the
    detector says it is no person's."""
    with pytest.raises(NoFaceError, match="not a person's"):
        find_face(GALLERY / name)


@pytest.mark.parametrize("name", [name for name in FACELESS_ANIMALS if (GALLERY / name).is_file()])
def test_an_animal_with_no_face_found_gets_the_plain_message(name: str) -> None:
    path = GALLERY / name
    expected = f"no face found in {re.escape(str(path))}: use a photo with one clearly visible"
    with pytest.raises(NoFaceError, match=expected):
        find_face(path)
