"""Pictures with known words, rendered with Pillow, and decks that show them: ground truth for the
OCR tests (tests/core/test_ocr.py) and bench/ocr_eval.py.

Each `KINDS` entry renders text the way decks carry it (a screenshot, a JPEG, a logo on a
transparent ground, a scan slightly rotated, ...) and returns the file's bytes. Fonts: DejaVu
(Debian's fonts-dejavu-core, installed with LibreOffice and most desktops) when present, else
Pillow's own scalable font.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf")

# Words of each language, accents included: what the pictures say.
WORDS = {
    "eng": [
        "revenue",
        "quarterly",
        "growth",
        "customers",
        "pipeline",
        "deployment",
        "network",
        "server",
        "latency",
        "budget",
        "forecast",
        "market",
        "strategy",
        "product",
        "release",
        "roadmap",
        "dashboard",
        "invoice",
        "shipping",
        "warehouse",
        "training",
        "model",
        "accuracy",
        "security",
        "incident",
        "response",
        "capacity",
        "planning",
        "storage",
        "backup",
        "contract",
        "partner",
        "region",
        "sales",
        "margin",
        "target",
        "review",
        "meeting",
        "project",
        "schedule",
        "quality",
    ],
    "fra": [
        "élève",
        "café",
        "réseau",
        "sécurité",
        "entreprise",
        "stratégie",
        "marché",
        "prévision",
        "équipe",
        "qualité",
        "démarrage",
        "déploiement",
        "fenêtre",
        "hôpital",
        "forêt",
        "château",
        "être",
        "numéro",
        "données",
        "résultat",
        "fiabilité",
        "année",
        "électricité",
        "énergie",
        "même",
        "très",
        "déjà",
        "où",
        "garçon",
        "français",
        "leçon",
        "besoin",
        "réunion",
        "clientèle",
        "chiffre",
        "affaires",
        "hausse",
        "baisse",
        "dépense",
        "recette",
    ],
    "deu": [
        "Größe",
        "Übersicht",
        "Straße",
        "für",
        "Qualität",
        "Prüfung",
        "Lösung",
        "Geschäft",
        "Kunden",
        "Umsatz",
        "Wachstum",
        "Gebäude",
        "Änderung",
        "Schlüssel",
        "Bücher",
        "Mitarbeiter",
        "Führung",
        "Verkäufe",
        "Planung",
        "Sicherheit",
        "Lieferung",
        "Maßnahme",
        "Ergebnis",
        "Berechnung",
        "Zuständigkeit",
        "Größenordnung",
        "schön",
        "müssen",
        "Bestellung",
        "Anzahl",
        "Zeitraum",
        "Fläche",
        "Kosten",
        "Vertrag",
        "Bericht",
        "Übergabe",
    ],
}
LANGUAGES = tuple(WORDS)


def font(size: int, index: int = 0) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _DEJAVU / FONT_FILES[index % len(FONT_FILES)]
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def sentence_lines(language: str, seed: int, lines: int = 3, per_line: int = 5) -> list[str]:
    """`lines` lines of distinct words of `language`, the same for the same seed."""
    chosen = random.Random(f"{language}-{seed}").sample(WORDS[language], lines * per_line)
    return [" ".join(chosen[i * per_line : (i + 1) * per_line]) for i in range(lines)]


def draw_text(
    lines: Sequence[str],
    *,
    size: int = 24,
    ink: tuple[int, ...] | int = 0,
    ground: tuple[int, ...] | int = 255,
    mode: str = "RGB",
    font_index: int = 0,
    margin: int = 30,
    canvas: tuple[int, int] | None = None,
    at: tuple[int, int] | None = None,
) -> Image.Image:
    """The lines drawn on a plain ground, sized to fit them unless `canvas` is given."""
    face = font(size, font_index)
    spacing = int(size * 0.6)
    width = max(int(face.getlength(line)) for line in lines) + 2 * margin
    height = len(lines) * (size + spacing) + 2 * margin
    bands = Image.getmodebands(mode)
    if isinstance(ink, int):  # a gray level, in every band (an int alone is the first band's)
        ink = (ink,) * bands if bands > 1 else ink
    if isinstance(ground, int):
        ground = (ground,) * bands if bands > 1 else ground
    image = Image.new(mode, canvas or (width, height), ground)
    x, y = at or (margin, margin)
    draw = ImageDraw.Draw(image)
    for line in lines:
        draw.text((x, y), line, font=face, fill=ink)
        y += size + spacing
    return image


def encoded(image: Image.Image, kind: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def _dark_on_light(lines, i):
    return encoded(draw_text(lines, size=24, font_index=i))


def _dark_on_light_18(lines, i):
    return encoded(draw_text(lines, size=18, font_index=i, ink=(30, 30, 30)))


def _jpeg_q50(lines, i):
    image = draw_text(lines, size=22, font_index=i, ink=(20, 40, 90), ground=(250, 248, 240))
    return encoded(image, "JPEG", quality=50)


def _light_on_dark(lines, i):
    return encoded(
        draw_text(lines, size=24, font_index=i, ink=(240, 240, 240), ground=(20, 30, 60))
    )


def _transparent(lines, i):
    return encoded(
        draw_text(
            lines, size=24, font_index=i, ink=(10, 10, 10, 255), ground=(0, 0, 0, 0), mode="RGBA"
        )
    )


def _transparent_light(lines, i):
    """White words on a transparent ground: a logo made for dark slides."""
    return encoded(
        draw_text(
            lines,
            size=24,
            font_index=i,
            ink=(255, 255, 255, 255),
            ground=(255, 255, 255, 0),
            mode="RGBA",
        )
    )


def _cmyk_jpeg(lines, i):
    image = draw_text(
        lines, size=24, font_index=i, ink=(0, 0, 0, 255), ground=(0, 0, 0, 0), mode="CMYK"
    )
    return encoded(image, "JPEG", quality=85)


def _gradient(lines, i):
    text = draw_text(lines, size=24, font_index=i, ink=0, ground=255, mode="L")
    width, height = text.size
    ramp = Image.linear_gradient("L").rotate(90).resize((width, height))  # 255 left -> 0 right
    ground = Image.merge(
        "RGB",
        [
            ramp.point(lambda v: 90 + v * 150 // 255),
            ramp.point(lambda v: 110 + v * 135 // 255),
            ramp.point(lambda v: 160 + v * 95 // 255),
        ],
    )
    ground.paste((0, 0, 0), mask=text.point(lambda v: 255 - v))
    return encoded(ground)


def _small_12px(lines, i):
    return encoded(draw_text(lines, size=12, font_index=i, margin=10))


def _low_contrast(lines, i):
    return encoded(
        draw_text(lines, size=24, font_index=i, ink=(125, 125, 125), ground=(195, 195, 195))
    )


def _blurred(lines, i):
    return encoded(draw_text(lines, size=22, font_index=i).filter(ImageFilter.GaussianBlur(1.2)))


def _rotated(lines, i):
    image = draw_text(lines, size=24, font_index=i, margin=50)
    angle = 2.5 if i % 2 else -2.5
    return encoded(
        image.rotate(
            angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255)
        )
    )


def _large_canvas(lines, i):
    image = draw_text(
        lines, size=40, font_index=i, canvas=(4000, 3000), at=(1200 + 300 * (i % 3), 1400)
    )
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 100, 900, 700), outline=(40, 90, 160), width=12)
    draw.ellipse((2800, 300, 3600, 1000), fill=(220, 230, 245))
    return encoded(image)


def _sixteen_bit(lines, i):
    image = draw_text(lines, size=24, font_index=i, mode="L").point(lambda v: v * 257, "I")
    return encoded(image.convert("I;16"))


def _screenshot(lines, i):
    """A dashboard: words in the cells of a grid, a colored header bar."""
    face_size = 20
    width, row = 900, 48
    image = Image.new("RGB", (width, row * (len(lines) + 1) + 20), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, row), fill=(40, 70, 140))
    draw.text((16, 12), "Dashboard", font=font(face_size, i), fill=(255, 255, 255))
    for n, line in enumerate(lines, start=1):
        y = n * row
        draw.line((0, y, width, y), fill=(200, 200, 200), width=2)
        x = 16
        for word in line.split():
            draw.text((x, y + 12), word, font=font(face_size, i), fill=(30, 30, 30))
            x += 170
    return encoded(image)


# kind -> render(lines, index) -> file bytes. The first two are the issue's >= 0.95 targets.
KINDS: dict[str, Callable[[list[str], int], bytes]] = {
    "dark_on_light_24px": _dark_on_light,
    "dark_on_light_18px": _dark_on_light_18,
    "jpeg_q50": _jpeg_q50,
    "light_on_dark": _light_on_dark,
    "transparent_png": _transparent,
    "transparent_light_ink": _transparent_light,
    "cmyk_jpeg": _cmyk_jpeg,
    "gradient_ground": _gradient,
    "text_12px": _small_12px,
    "low_contrast": _low_contrast,
    "slight_blur": _blurred,
    "rotated_2.5deg": _rotated,
    "large_canvas_4000x3000": _large_canvas,
    "png_16bit": _sixteen_bit,
    "screenshot_grid": _screenshot,
}
# Words drawn on a picture that are not in its ground truth (the screenshot's header).
EXTRA_WORDS = {"screenshot_grid": ("Dashboard",)}


def photo_without_text(seed: int, size: tuple[int, int] = (800, 600)) -> bytes:
    """Shapes, gradients and noise and not one letter: whatever OCR finds there is noise."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(20, 300), rng.randrange(20, 300)
        color = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + w, y + h), fill=color)
        else:
            draw.rectangle((x, y, x + w, y + h), fill=color, outline=(0, 0, 0))
    noise = Image.effect_noise(size, 40).convert("RGB")
    return encoded(Image.blend(image, noise, 0.25), "JPEG", quality=80)


@dataclass(frozen=True)
class PictureSlide:
    title: str
    pictures: Sequence[bytes]  # each shown at its own place on the slide
    body: str = ""


def write_picture_deck(path: Path, slides: Sequence[PictureSlide]) -> Path:
    """A deck of title-only slides, each with its body (if any) and its pictures side by side."""
    from pptx import Presentation
    from pptx.util import Emu, Inches

    deck = Presentation()
    for spec in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = spec.title
        if spec.body:
            box = slide.shapes.add_textbox(Inches(0.5), Inches(1.5), Inches(9), Inches(0.8))
            box.text_frame.text = spec.body
        width = Emu(int(Inches(9) / max(1, len(spec.pictures))))
        for n, blob in enumerate(spec.pictures):
            slide.shapes.add_picture(
                io.BytesIO(blob), Inches(0.5) + n * width, Inches(2.5), width=width
            )
    deck.save(path)
    return path


def words_of(text: str) -> list[str]:
    """Words as compared: case-folded, without the punctuation around them."""
    return [
        w for w in (token.strip(".,;:!?\"'()[]|-–—«»").casefold() for token in text.split()) if w
    ]
