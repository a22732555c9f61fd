"""Reading a portrait: a file or an array in, an RGB uint8 array out, or an ``ImageError``.

Files are decoded by OpenCV from their bytes (so odd paths and names work on every OS).
Pillow, already installed with scikit-image, reads only the header first: the size is
checked before any pixels are decoded, so a small file that claims 20,000×20,000 pixels
costs a few kilobytes of memory, not gigabytes. Pillow also gives the EXIF orientation,
which OpenCV ignores when asked for the alpha channel.
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import ImageError

MIN_SIDE = 64
"""Smaller photos hold too few pixels for a face worth animating."""

DEFAULT_MAX_PIXELS = 40_000_000
_MAX_BYTES_PER_PIXEL = 8
"""A file bigger than this per allowed pixel (16-bit RGBA, uncompressed) cannot hold an
allowed image; refusing it up front keeps a mistaken multi-gigabyte file out of memory."""


@dataclass(frozen=True)
class _Header:
    width: int | None
    height: int | None
    orientation: int = 1
    """EXIF orientation, 1 (as stored) to 8."""


def default_avatar() -> np.ndarray:
    """The bundled portrait: NASA's public-domain photo of Eileen Collins, 512×512 RGB."""
    return _astronaut().copy()


@functools.lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    from skimage import data

    image = data.astronaut()
    image.setflags(write=False)
    return image


def load_image(
    source: str | Path | np.ndarray, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """A C-contiguous H×W×3 uint8 RGB copy of a file or array.

    Arrays are taken as RGB(A) in numpy's usual order: gray H×W becomes RGB, RGBA is
    composited on white (a transparent background should not turn black), uint16 is scaled
    to 8 bits, anything else (float, bool, ...) is refused rather than guessed at.
    """
    if isinstance(source, np.ndarray):
        image = _from_array(source)
        _check_size(image.shape[1], image.shape[0], "the image", max_pixels)
        return image
    if not isinstance(source, (str, Path)):
        raise ImageError(f"expected an image file path or array, got {type(source).__name__}")
    return _load_file(Path(source), max_pixels)


def _load_file(path: Path, max_pixels: int) -> np.ndarray:
    data = _read_bytes(path, max_bytes=_MAX_BYTES_PER_PIXEL * max_pixels + 1_000_000)
    header = _read_header(data, path, max_pixels)
    if header.width is not None and header.height is not None:
        _check_size(header.width, header.height, str(path), max_pixels)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        raise ImageError(
            f"cannot read {path}: the file is corrupt or not an image format OpenCV can "
            "decode (use JPEG, PNG, WebP or BMP)"
        )
    image = _apply_orientation(_from_decoded(decoded, path), header.orientation)
    _check_size(image.shape[1], image.shape[0], str(path), max_pixels)
    return image


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    if not path.exists():
        raise ImageError(f"image file not found: {path}")
    if path.is_dir():
        raise ImageError(f"{path} is a folder, not an image file")
    try:
        if path.stat().st_size > max_bytes:
            raise ImageError(
                f"{path} is {path.stat().st_size / 1e6:.0f} MB, too big for an image within "
                "the pixel limit: downscale or compress it first"
            )
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read {path}: {error.strerror or error}") from None
    if not data:
        raise ImageError(f"{path} is empty (0 bytes): not an image")
    return data


def _read_header(data: bytes, path: Path, max_pixels: int) -> _Header:
    """Size and orientation without decoding pixels; unknown when Pillow cannot tell."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                orientation = _exif_orientation(probe)
    except Image.DecompressionBombError:
        # Pillow refuses to even report sizes above its own hard limit (about 179 MP).
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        if max_pixels < limit:
            raise ImageError(
                f"{path} is too large: over {limit / 1e6:.0f} megapixels, and the limit is "
                f"{_limit_text(max_pixels)}; downscale it first"
            ) from None
        return _Header(None, None)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return _Header(None, None)  # let OpenCV try; it knows a few formats Pillow does not
    return _Header(width, height, orientation)


def _exif_orientation(probe) -> int:
    try:
        value = int(probe.getexif().get(0x0112, 1))
    except Exception:  # a damaged EXIF block must not make a readable photo unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def _limit_text(max_pixels: int) -> str:
    return f"{max_pixels / 1e6:g} megapixels ({max_pixels:,} pixels)"


def _check_size(width: int, height: int, name: str, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageError(
            f"{name} is {width}×{height} ({width * height / 1e6:.1f} megapixels); the limit "
            f"is {_limit_text(max_pixels)}: downscale it first"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"{name} is only {width}×{height} pixels; a portrait needs at least "
            f"{MIN_SIDE} pixels on each side"
        )


def _from_decoded(decoded: np.ndarray, path: Path) -> np.ndarray:
    """OpenCV's BGR(A) / gray, 8 or 16 bits → RGB uint8."""
    if decoded.dtype == np.uint16:
        decoded = _to_uint8(decoded)
    elif decoded.dtype != np.uint8:
        raise ImageError(
            f"cannot use {path}: {decoded.dtype} pixels (HDR or floating point) are not "
            "supported; save it as an 8-bit JPEG or PNG"
        )
    if decoded.ndim == 3 and decoded.shape[2] == 3:
        return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        return _over_white(cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA))
    return _from_array(decoded)


def _from_array(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint16:
        array = _to_uint8(array)
    if array.dtype != np.uint8:
        raise ImageError(
            f"the image array must be uint8 (0-255), not {array.dtype}; for floats in [0, 1] "
            "use (a * 255).round().astype(np.uint8)"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_GRAY2RGB)
    if array.ndim == 3 and array.shape[2] == 3:
        return np.array(array, dtype=np.uint8, order="C", copy=True)
    if array.ndim == 3 and array.shape[2] == 4:
        return _over_white(array)
    raise ImageError(
        f"the image array has shape {array.shape}; expected H×W (gray), H×W×3 (RGB) or H×W×4 (RGBA)"
    )


def _to_uint8(array: np.ndarray) -> np.ndarray:
    return ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """Composite on white: transparent backgrounds (cut-out portraits) would turn black."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    rgb = rgba[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.ascontiguousarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn the pixels as EXIF says the camera held them (phones store photos sideways)."""
    turned = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }[orientation](image)
    return np.ascontiguousarray(turned)
