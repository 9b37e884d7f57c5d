"""Where shapes sit on a slide, and the order a person reads them in.

Positions are in EMU (914,400 per inch), on the slide: a group's children are mapped from the
group's own coordinate space (chOff/chExt) onto the slide (off/ext) before they are compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from lxml import etree

from osmose_dagster.core.extract.ooxml import A

EMU_PER_INCH = 914_400
# Tops closer than this are on one visual row: about half a line of 18 pt text. Shapes a person
# sees side by side often differ by a few hundredths of an inch.
ROW_TOLERANCE_EMU = int(0.15 * EMU_PER_INCH)
# ...or closer than this share of the smaller shape's height (tall boxes side by side).
ROW_TOLERANCE_SHARE = 0.25

T = TypeVar("T")


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float

    def outside(self, slide_width: int, slide_height: int) -> bool:
        """Entirely off the slide: nothing of it shows when the deck is presented."""
        return (
            self.left >= slide_width
            or self.top >= slide_height
            or self.left + self.width <= 0
            or self.top + self.height <= 0
        )


@dataclass(frozen=True)
class Transform:
    """Maps a group's child coordinates onto the slide: slide = child * scale + shift."""

    scale_x: float = 1.0
    scale_y: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0

    def box(self, left: float, top: float, width: float, height: float) -> Box:
        return Box(
            left * self.scale_x + self.shift_x,
            top * self.scale_y + self.shift_y,
            width * self.scale_x,
            height * self.scale_y,
        )

    def into_group(self, xfrm: etree._Element | None) -> Transform:
        """The transform for the children of a group whose a:xfrm is `xfrm`."""
        if xfrm is None:
            return self
        off, ext = _pair(xfrm, "off", "x", "y"), _pair(xfrm, "ext", "cx", "cy")
        child_off, child_ext = _pair(xfrm, "chOff", "x", "y"), _pair(xfrm, "chExt", "cx", "cy")
        if off is None or ext is None:
            return self
        child_off = child_off or off
        child_ext = child_ext or ext
        scale_x = ext[0] / child_ext[0] if child_ext[0] else 1.0
        scale_y = ext[1] / child_ext[1] if child_ext[1] else 1.0
        inner = Transform(
            scale_x, scale_y, off[0] - child_off[0] * scale_x, off[1] - child_off[1] * scale_y
        )
        return Transform(
            inner.scale_x * self.scale_x,
            inner.scale_y * self.scale_y,
            inner.shift_x * self.scale_x + self.shift_x,
            inner.shift_y * self.scale_y + self.shift_y,
        )


def xfrm_box(xfrm: etree._Element | None, transform: Transform) -> Box | None:
    """The slide box of a shape whose a:xfrm (or p:xfrm) is `xfrm`; None when it has none."""
    if xfrm is None:
        return None
    off, ext = _pair(xfrm, "off", "x", "y"), _pair(xfrm, "ext", "cx", "cy")
    if off is None or ext is None:
        return None
    return transform.box(off[0], off[1], ext[0], ext[1])


def _pair(xfrm: etree._Element, child: str, first: str, second: str) -> tuple[int, int] | None:
    element = xfrm.find(f"{A}{child}")
    if element is None:
        return None
    try:
        return int(element.get(first, "0")), int(element.get(second, "0"))
    except ValueError:  # a malformed coordinate: treat the shape as unplaced
        return None


def in_reading_order(items: Sequence[T], box_of: Callable[[T], Box | None]) -> list[T]:
    """Rows top to bottom (tops within a tolerance share a row), each row left to right.

    Items without a box come last, in their given order; ties keep the given order."""
    boxes = [box_of(item) for item in items]
    placed = [(box, index, item) for index, (box, item) in enumerate(zip(boxes, items)) if box]
    unplaced = [item for box, item in zip(boxes, items) if box is None]
    placed.sort(key=lambda entry: (entry[0].top, entry[0].left, entry[1]))
    rows: list[list[tuple[Box, int, T]]] = []
    for entry in placed:
        if rows and _same_row(rows[-1][0][0], entry[0]):
            rows[-1].append(entry)
        else:
            rows.append([entry])
    ordered = []
    for row in rows:
        row.sort(key=lambda entry: (entry[0].left, entry[0].top, entry[1]))
        ordered += [entry[2] for entry in row]
    return ordered + unplaced


def _same_row(anchor: Box, other: Box) -> bool:
    """`anchor` is the row's topmost box: comparing with it, not with the row's last box, keeps
    a staircase of slightly lower boxes from chaining into one row."""
    tolerance = max(ROW_TOLERANCE_EMU, ROW_TOLERANCE_SHARE * min(anchor.height, other.height))
    return other.top - anchor.top <= tolerance
