"""A slide picture's bytes -> a grayscale image Tesseract reads well, or the reason it is skipped.

Pictures come from anyone's deck: the header is checked before any pixel is decoded (a
decompression bomb declares a huge size in a small file), formats Pillow cannot decode (EMF, WMF,
SVG) are skipped, and everything Pillow can decode (CMYK JPEG, 16-bit PNG, palette and
transparent images, TIFF, GIF, BMP, WebP) is brought to 8-bit gray, dark text on a light ground.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Why a picture was not read; the keys of OcrStats.skipped.
TOO_SMALL = "too_small"  # an icon or a bullet: no words at any size Tesseract reads
TOO_LARGE = "too_large"  # more pixels than MAX_PIXELS (a decompression bomb, or a poster)
UNSUPPORTED = "unsupported_format"  # EMF, WMF, SVG, or bytes no decoder knows
UNREADABLE = "unreadable"  # a known format that does not decode (truncated, corrupt)
TIME_BUDGET = "time_budget"  # the deck's OCR time was spent (OSMOSE_OCR_BUDGET_S)
TOO_SLOW = "too_slow"  # Tesseract did not finish it in MAX_SECONDS_PER_PICTURE (ocr.py)
LINKED = "linked"  # the picture is a link to a file outside the deck

# 40 megapixels: a full-page scan at 600 dpi is 35; one 8-bit copy is 40 MB, the RGBA decode 160.
MAX_PIXELS = 40_000_000
# Smaller than this on a side, or in area, is an icon: 12 px is already the smallest text size
# Tesseract reads once upscaled (bench/ocr_eval.py, "12 px text").
MIN_SIDE = 12
MIN_PIXELS = 48 * 48
_METAFILE_SIGNATURES = (b"\x01\x00\x00\x00", b"\xd7\xcd\xc6\x9a")  # EMF, placeable WMF
_SVG_STARTS = (b"<?xml", b"<svg ", b"<svg\n")


@dataclass(frozen=True)
class Picture:
    """An image shown on a slide, as stored in the deck."""

    blob: bytes
    name: str  # the package part, e.g. /ppt/media/image3.png


class PictureSkipped(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def prepare(blob: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The picture as 8-bit gray ("L"), dark on light; raises PictureSkipped."""
    head = blob[:64].lstrip()
    if blob[:4] in _METAFILE_SIGNATURES or head[:5].lower() in _SVG_STARTS:
        raise PictureSkipped(UNSUPPORTED, "a vector picture (EMF, WMF or SVG)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(blob))
            width, height = image.size
            if width * height > max_pixels:
                raise PictureSkipped(TOO_LARGE, f"{width}x{height} pixels")
            if min(width, height) < MIN_SIDE or width * height < MIN_PIXELS:
                raise PictureSkipped(TOO_SMALL, f"{width}x{height} pixels")
            image.seek(0)  # the first frame of an animation
            image.load()
    except PictureSkipped:
        raise
    except (UnidentifiedImageError, NotImplementedError) as exc:
        raise PictureSkipped(UNSUPPORTED, _describe(exc)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PictureSkipped(TOO_LARGE, _describe(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error) as exc:
        # Pillow's WMF/EMF stub says it cannot load them: unsupported, not broken.
        reason = UNSUPPORTED if image_format(blob) in ("WMF", "EMF") else UNREADABLE
        raise PictureSkipped(reason, _describe(exc)) from None
    return dark_on_light(_gray(image))


def image_format(blob: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(blob)) as image:
            return image.format
    except Exception:
        return None


def _gray(image: Image.Image) -> Image.Image:
    """8-bit gray, with transparency flattened onto a ground the picture's ink stands out on."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _stretched(np.asarray(image))
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA", "RGBa", "RGBA"):
        return _flattened(image.convert("RGBA"))
    if image.mode == "L":
        return image
    return image.convert("RGB").convert("L")  # CMYK, YCbCr, LAB, HSV, 1, RGB


def _stretched(values: np.ndarray) -> Image.Image:
    """16-bit or float samples scaled onto 0-255 over the range they use."""
    values = values.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(scaled.astype(np.uint8), "L")


def _flattened(rgba: Image.Image) -> Image.Image:
    """A transparent picture onto white, unless its visible ink is light (a logo made for dark
    slides), which would vanish on white: that goes onto black."""
    alpha = np.asarray(rgba.getchannel("A"))
    gray = np.asarray(rgba.convert("RGB").convert("L"))
    visible = alpha > 127
    light_ink = visible.any() and alpha.min() < 128 and float(gray[visible].mean()) > 160
    ground = Image.new("RGB", rgba.size, (0, 0, 0) if light_ink else (255, 255, 255))
    ground.paste(rgba, mask=rgba.getchannel("A"))
    return ground.convert("L")


def dark_on_light(gray: Image.Image) -> Image.Image:
    """Tesseract reads dark text on a light ground best: a mostly dark picture is inverted."""
    if float(np.median(np.asarray(gray))) < 128:
        return ImageOps.invert(gray)
    return gray


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
