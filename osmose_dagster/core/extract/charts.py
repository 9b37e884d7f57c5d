"""Chart text read from the chart part's XML: classic DrawingML charts (c:) of every plot type,
and Office 2016 chartex parts (cx:, waterfall, treemap, sunburst, funnel, histogram, box and
whisker).

python-pptx's chart model raises on the plot types it does not model (3-D, surface, stock,
bar-of-pie...), and it never reads values; the XML holds all of it in the same shape for every
type: series (c:ser) with a name (c:tx), categories (c:cat / c:xVal) and values (c:val / c:yVal /
c:bubbleSize), each with the cache PowerPoint drew from.

The text is a few lines: the title, the axis titles, then one line per series,
"Revenue: Q1 10, Q2 12.5, Q3 9". Long series are cut (MAX_POINTS_PER_SERIES) with a note.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta

from lxml import etree

from osmose_dagster.core.extract.ooxml import CX, C, local_name, single_line, text_body

MAX_POINTS_PER_SERIES = 50
MAX_SERIES = 50

_EXCEL_EPOCH = date(1899, 12, 30)  # serial day 1 is 1900-01-01 (after Excel's 1900 leap bug)

_AXES = ("catAx", "valAx", "dateAx", "serAx")
_CATEGORY_ELEMENTS = ("cat", "xVal")
_VALUE_ELEMENTS = ("val", "yVal", "bubbleSize")


@dataclass
class _Series:
    name: str
    # Each dimension maps point index -> label; categories first, then values.
    categories: dict[int, str] = field(default_factory=dict)
    values: list[dict[int, str]] = field(default_factory=list)
    numeric_categories: bool = False  # x values of a scatter or bubble chart


def chart_text(root: etree._Element) -> str:
    """The text of a chart part (c:chartSpace or cx:chartSpace); "" for anything else."""
    if root.tag == f"{C}chartSpace":
        return _render(*_classic_chart(root))
    if root.tag == f"{CX}chartSpace":
        return _render(*_chartex(root))
    return ""


# --- classic charts (c:) ------------------------------------------------------------------------


def _classic_chart(root: etree._Element) -> tuple[str, list[str], list[_Series]]:
    chart = root.find(f"{C}chart")
    if chart is None:
        return "", [], []
    title = _classic_title(chart.find(f"{C}title"))
    plot_area = chart.find(f"{C}plotArea")
    if plot_area is None:
        return title, [], []
    axis_titles = [
        text
        for axis in plot_area
        if local_name(axis) in _AXES and (text := _classic_title(axis.find(f"{C}title")))
    ]
    series = [
        _classic_series(ser)
        for plot in plot_area
        if local_name(plot).endswith("Chart")
        for ser in plot.iter(f"{C}ser")
    ]
    return title, axis_titles, series


def _classic_title(title: etree._Element | None) -> str:
    if title is None:
        return ""
    tx = title.find(f"{C}tx")
    if tx is None:  # an automatic title ("Chart Title", or the series name): nothing typed
        return ""
    rich = tx.find(f"{C}rich")
    if rich is not None:
        return single_line(text_body(rich))
    return single_line(" ".join(_string_points(tx).values()))


def _classic_series(ser: etree._Element) -> _Series:
    tx = ser.find(f"{C}tx")
    name = ""
    if tx is not None:
        name = single_line(" ".join(_string_points(tx).values()) or tx.findtext(f"{C}v") or "")
    series = _Series(name)
    for tag in _CATEGORY_ELEMENTS:
        element = ser.find(f"{C}{tag}")
        if element is not None:
            series.categories = _category_points(element)
            series.numeric_categories = tag == "xVal" and _is_numeric(element)
            break
    for tag in _VALUE_ELEMENTS:
        element = ser.find(f"{C}{tag}")
        if element is not None and (points := _value_points(element)):
            series.values.append(points)
    return series


def _string_points(element: etree._Element) -> dict[int, str]:
    """c:pt of the first string cache (or literal) below `element`, by index."""
    for cache in element.iter(f"{C}strCache", f"{C}strLit"):
        return _points(cache, f"{C}pt")
    return {}


def _category_points(element: etree._Element) -> dict[int, str]:
    multi_level = next(element.iter(f"{C}multiLvlStrCache"), None)
    if multi_level is not None:
        return _multi_level_labels(
            [_points(level, f"{C}pt") for level in multi_level.iter(f"{C}lvl")]
        )
    for cache in element.iter(f"{C}strCache", f"{C}strLit", f"{C}numCache", f"{C}numLit"):
        return _points(cache, f"{C}pt", _format_code(cache) if "num" in local_name(cache) else None)
    return {}


def _value_points(element: etree._Element) -> dict[int, str]:
    for cache in element.iter(f"{C}numCache", f"{C}numLit", f"{C}strCache", f"{C}strLit"):
        return _points(cache, f"{C}pt", _format_code(cache) if "num" in local_name(cache) else None)
    return {}


def _is_numeric(element: etree._Element) -> bool:
    return next(element.iter(f"{C}numCache", f"{C}numLit"), None) is not None


def _format_code(cache: etree._Element) -> str:
    return cache.findtext(f"{C}formatCode") or ""


def _points(cache: etree._Element, tag: str, format_code: str | None = None) -> dict[int, str]:
    points: dict[int, str] = {}
    for point in cache.iter(tag):
        try:
            index = int(point.get("idx", ""))
        except ValueError:
            continue
        raw = point.findtext(f"{C}v") if tag == f"{C}pt" else point.text
        raw = (raw or "").strip()
        if not raw:
            continue
        if format_code is not None:
            raw = format_number(raw, point.get("formatCode") or format_code)
        points[index] = single_line(raw)
    return points


def _multi_level_labels(levels: list[dict[int, str]]) -> dict[int, str]:
    """Each point's labels from the outermost level to the innermost (the first c:lvl).

    A parent label covers the points from its index up to the next parent label."""
    if len(levels) <= 1:
        return levels[0] if levels else {}
    starts = [sorted(level) for level in levels]
    labels: dict[int, str] = {}
    for index in sorted({index for level in levels for index in level}):
        parts: list[str] = []
        for level, level_starts in zip(reversed(levels), reversed(starts)):
            at = bisect_right(level_starts, index)
            if at and (label := level[level_starts[at - 1]]) and label not in parts:
                parts.append(label)
        labels[index] = " ".join(parts)
    return labels


def _is_date_format(format_code: str) -> bool:
    """'m/d/yyyy', 'mmm-yy', '[$-409]d-mmm': day, month or year codes outside quotes and [...]."""
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]', "", format_code).lower()
    return bare != "general" and bool(re.search(r"[dmy]", bare))


def format_number(raw: str, format_code: str = "") -> str:
    """A cached value as a reader sees it: no float noise (0.30000000000000004), percentages,
    dates (Excel serial days) as ISO dates."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    if value != value or value in (float("inf"), float("-inf")):
        return raw
    if "%" in format_code:
        return f"{value * 100:.10g}%"
    if _is_date_format(format_code) and 0 < value < 2_958_466:  # Excel's last day: 9999-12-31
        return (_EXCEL_EPOCH + timedelta(days=int(value))).isoformat()
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


# --- chartex (cx:) ------------------------------------------------------------------------------


def _chartex(root: etree._Element) -> tuple[str, list[str], list[_Series]]:
    data = {
        element.get("id", ""): element
        for element in root.iterchildren(f"{CX}chartData")
        for element in element.iterchildren(f"{CX}data")
    }
    chart = root.find(f"{CX}chart")
    if chart is None:
        return "", [], []
    title = _chartex_text(chart.find(f"{CX}title"))
    plot_area = chart.find(f"{CX}plotArea")
    if plot_area is None:
        return title, [], []
    axis_titles = [
        text
        for axis in plot_area.iterchildren(f"{CX}axis")
        if (text := _chartex_text(axis.find(f"{CX}title")))
    ]
    series = []
    for ser in plot_area.iter(f"{CX}series"):
        item = _Series(_chartex_text(ser))
        data_id = ser.find(f"{CX}dataId")
        source = data.get(data_id.get("val", "") if data_id is not None else "")
        if source is not None:
            _chartex_dimensions(source, item)
        series.append(item)
    return title, axis_titles, series


def _chartex_text(element: etree._Element | None) -> str:
    """A cx:title's or cx:series' own text: cx:tx/cx:txData/cx:v, or cx:tx/cx:rich."""
    if element is None:
        return ""
    tx = element.find(f"{CX}tx")
    if tx is None:
        return ""
    rich = tx.find(f"{CX}rich")
    if rich is not None:
        return single_line(text_body(rich))
    return single_line(tx.findtext(f"{CX}txData/{CX}v") or "")


def _chartex_dimensions(data: etree._Element, series: _Series) -> None:
    for dimension in data:
        kind, name = dimension.get("type", ""), local_name(dimension)
        levels = [
            _points(level, f"{CX}pt", level.get("formatCode", "") if name == "numDim" else None)
            for level in dimension.iterchildren(f"{CX}lvl")
        ]
        if name == "strDim" or kind in ("cat", "x"):
            if not series.categories:
                series.categories = _multi_level_labels(levels)
        elif levels and levels[0]:
            series.values.append(levels[0])


# --- text -------------------------------------------------------------------------------------


def _render(title: str, axis_titles: list[str], series: list[_Series]) -> str:
    lines = [title] if title else []
    if axis_titles:
        lines.append(" / ".join(axis_titles))
    shown = series[:MAX_SERIES]
    any_values = any(item.values for item in shown)
    for item in shown:
        if line := _series_line(item, with_categories=any_values):
            lines.append(line)
    if not any_values:  # no cached values: the category labels once, as the chart shows them
        categories = next((item.categories for item in shown if item.categories), {})
        if categories:
            lines.append(_capped([categories[i] for i in sorted(categories)]))
    if len(series) > MAX_SERIES:
        lines.append(f"… {len(series) - MAX_SERIES} more series")
    return "\n".join(lines)


def _series_line(series: _Series, *, with_categories: bool) -> str:
    if not series.values:
        return series.name
    indexes = sorted({index for values in series.values for index in values})
    points = []
    for index in indexes[:MAX_POINTS_PER_SERIES]:
        values = [values.get(index, "") for values in series.values]
        category = series.categories.get(index, "") if with_categories else ""
        if series.numeric_categories:
            points.append("(" + ", ".join([category, *values]) + ")")
        else:
            points.append(" ".join(text for text in (category, *values) if text))
    text = _capped(points, len(indexes))
    return f"{series.name}: {text}" if series.name else text


def _capped(points: list[str], total: int | None = None) -> str:
    """The first MAX_POINTS_PER_SERIES of `total` points, and how many more there are."""
    total = len(points) if total is None else total
    text = ", ".join(points[:MAX_POINTS_PER_SERIES])
    if total > MAX_POINTS_PER_SERIES:
        text += f", … {total - MAX_POINTS_PER_SERIES} more"
    return text
