"""Decks built with python-pptx (XML rewritten where python-pptx cannot write the feature), each
with the text a person reads on it, in reading order: ground truth for tests/core and for
bench/extraction_eval.py where no public deck shows the case.

Every builder takes a path, writes the deck there, and returns a `BuiltDeck`:
`expected` holds, per slide in deck order, the lines a reader sees (title first, then the body in
reading order, tables a row a line as "a | b", charts, alt text, notes, comments);
`absent` holds text that is in the file but must not be indexed (off the slide, auto fields,
machine-written alt text, footers after their first slide).
"""

from __future__ import annotations

import copy
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from pptx import Presentation
from pptx.chart.data import BubbleChartData, CategoryChartData, XyChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.opc.constants import CONTENT_TYPE as CT
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.package import Part
from pptx.opc.packuri import PackURI
from pptx.oxml.ns import qn
from pptx.util import Inches

TITLE_AND_CONTENT, TITLE_ONLY, BLANK = 1, 5, 6
CHARTEX_URI = "http://schemas.microsoft.com/office/drawing/2014/chartex"
CHARTEX_CT = "application/vnd.ms-office.chartex+xml"
CHARTEX_RT = "http://schemas.microsoft.com/office/2014/relationships/chartEx"
MODERN_COMMENTS_RT = "http://schemas.microsoft.com/office/2018/10/relationships/comments"
MODERN_COMMENTS_CT = "application/vnd.ms-powerpoint.comments+xml"
AUTHORS_RT = "http://schemas.microsoft.com/office/2018/10/relationships/authors"
AUTHORS_CT = "application/vnd.ms-powerpoint.authors+xml"
P188_NS = "http://schemas.microsoft.com/office/powerpoint/2018/8/main"
NAMESPACES = (
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)


@dataclass
class BuiltDeck:
    path: Path
    expected: list[list[str]]  # per slide, the lines a reader sees, in reading order
    absent: list[str] = field(default_factory=list)

    @property
    def expected_text(self) -> str:
        return "\n".join(line for slide in self.expected for line in slide)


def textbox(shapes, text: str, left: float, top: float, width: float = 2.0, height: float = 0.5):
    box = shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    box.text_frame.text = text
    return box


def tiny_png() -> bytes:
    """A valid 1x1 PNG, so that pictures need no file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# --- reading order ------------------------------------------------------------------------------


def row_of_five(path: Path) -> BuiltDeck:
    """Five boxes on one visual row whose tops differ by hundredths of an inch (XML order mixed),
    and one line below them."""
    prs = Presentation()
    shapes = prs.slides.add_slide(prs.slide_layouts[BLANK]).shapes
    boxes = [
        ("Alpha one", 0.3, 1.00),
        ("Bravo two", 2.2, 1.04),
        ("Charlie three", 4.1, 1.02),
        ("Delta four", 6.0, 1.03),
        ("Echo five", 7.9, 1.01),
    ]
    for text, left, top in [boxes[3], boxes[0], boxes[4], boxes[2], boxes[1]]:
        textbox(shapes, text, left, top, width=1.8)
    textbox(shapes, "Foxtrot closing line", 0.3, 3.0, width=6)
    prs.save(path)
    return BuiltDeck(path, [[text for text, _, _ in boxes] + ["Foxtrot closing line"]])


def table_with_caption(path: Path) -> BuiltDeck:
    """A table between an introduction above it and a caption below it."""
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Regional sales"
    textbox(slide.shapes, "Introduction above the table", 0.5, 1.6, width=6)
    table = slide.shapes.add_table(3, 2, Inches(0.5), Inches(2.3), Inches(6), Inches(1.5)).table
    for row, cells in enumerate([["Region", "Sales"], ["North", "42"], ["South", "17"]]):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    textbox(slide.shapes, "Source: internal ledger", 0.5, 4.2, width=6)
    prs.save(path)
    return BuiltDeck(
        path,
        [
            [
                "Regional sales",
                "Introduction above the table",
                "Region | Sales",
                "North | 42",
                "South | 17",
                "Source: internal ledger",
            ]
        ],
    )


def scaled_groups(path: Path) -> BuiltDeck:
    """A group drawn at half the size of its own coordinate space (chExt = 2 x ext): its children
    sit on the slide at positions their raw coordinates do not show, with a box between them."""
    prs = Presentation()
    shapes = prs.slides.add_slide(prs.slide_layouts[BLANK]).shapes
    textbox(shapes, "Outside above the group", 1, 2.0, width=4)
    group = shapes.add_group_shape()
    textbox(group.shapes, "Group child upper", 0, 0, width=4)  # on the slide: top 3.0
    textbox(group.shapes, "Group child lower", 0, 3.0, width=4)  # on the slide: top 4.5
    xfrm = group._element.grpSpPr.find(qn("a:xfrm"))
    for tag, (x, y) in {
        "a:off": (1, 3),
        "a:ext": (2, 1.75),
        "a:chOff": (0, 0),
        "a:chExt": (4, 3.5),
    }.items():
        element = xfrm.find(qn(tag))
        names = ("cx", "cy") if "xt" in tag.lower() else ("x", "y")
        element.set(names[0], str(Inches(x)))
        element.set(names[1], str(Inches(y)))
    textbox(shapes, "Outside between the children", 1, 3.8, width=4)
    textbox(shapes, "Outside below the group", 1, 6.0, width=4)
    prs.save(path)
    return BuiltDeck(
        path,
        [
            [
                "Outside above the group",
                "Group child upper",
                "Outside between the children",
                "Group child lower",
                "Outside below the group",
            ]
        ],
    )


def off_slide_boxes(path: Path) -> BuiltDeck:
    prs = Presentation()  # 10 x 7.5 inches
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Visible title"
    textbox(slide.shapes, "Visible box on the slide", 1, 2)
    textbox(slide.shapes, "Parked right of the slide", 10.5, 2)
    textbox(slide.shapes, "Parked above the slide", 1, -1.5, height=0.6)
    prs.save(path)
    return BuiltDeck(
        path,
        [["Visible title", "Visible box on the slide"]],
        absent=["Parked right of the slide", "Parked above the slide"],
    )


def footer_deck(path: Path) -> BuiltDeck:
    """Four slides with the same typed footer, slide number fields, date fields, and one date
    placeholder holding typed words."""
    prs = Presentation()
    expected = []
    for number in range(1, 5):
        slide = prs.slides.add_slide(prs.slide_layouts[TITLE_AND_CONTENT])
        slide.shapes.title.text = f"Topic {number} heading"
        slide.placeholders[1].text_frame.text = f"Body text of topic {number}"
        furniture = {PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.SLIDE_NUMBER}
        for placeholder in slide.slide_layout.placeholders:
            if placeholder.placeholder_format.type in furniture:
                slide.shapes._spTree.append(copy.deepcopy(placeholder.element))
        date_text = "Board meeting in March" if number == 2 else ""
        for placeholder in slide.placeholders:
            kind = placeholder.placeholder_format.type
            if kind == PP_PLACEHOLDER.FOOTER:
                placeholder.text_frame.text = "ACME Confidential"
            elif kind == PP_PLACEHOLDER.SLIDE_NUMBER:
                _set_field(placeholder, "slidenum", str(number))
            elif kind == PP_PLACEHOLDER.DATE:
                if date_text:
                    placeholder.text_frame.text = date_text
                else:
                    _set_field(placeholder, "datetime1", "11/3/2026")
        lines = [f"Topic {number} heading", f"Body text of topic {number}"]
        if date_text:
            lines.append(date_text)
        if number == 1:
            lines.append("ACME Confidential")
        expected.append(lines)
    prs.save(path)
    return BuiltDeck(path, expected, absent=["11/3/2026"])


def _set_field(placeholder, field_type: str, shown: str) -> None:
    paragraph = placeholder.text_frame.paragraphs[0]._p
    for child in list(paragraph):
        if child.tag in (qn("a:r"), qn("a:fld")):
            paragraph.remove(child)
    field_element = etree.SubElement(paragraph, qn("a:fld"))
    field_element.set("id", "{B6F15528-21DE-4FAA-801E-634DDDAF4B2B}")
    field_element.set("type", field_type)
    etree.SubElement(field_element, qn("a:t")).text = shown


# --- charts -------------------------------------------------------------------------------------

QUARTERS = ["Q1", "Q2", "Q3"]
REVENUE = (10.0, 12.5, 9.0)
COSTS = (4.0, 5.25, 6.0)
# Plot types python-pptx cannot read (its chart model raises), written by renaming the plot
# element of a generated chart: (plot element, extra c:chart child, chart title).
REWRITTEN_PLOTS = [
    ("bar3DChart", "view3D", "Three-D bar revenue"),
    ("line3DChart", "view3D", "Three-D line revenue"),
    ("area3DChart", "view3D", "Three-D area revenue"),
    ("surface3DChart", "view3D", "Surface revenue"),
    ("pie3DChart", "view3D", "Three-D pie revenue"),
    ("ofPieChart", "", "Bar of pie revenue"),
    ("stockChart", "", "Stock revenue"),
]


def category_chart(slide, title: str, chart_type=XL_CHART_TYPE.COLUMN_CLUSTERED, top: float = 1.5):
    data = CategoryChartData()
    data.categories = QUARTERS
    data.add_series("Revenue", REVENUE)
    data.add_series("Costs", COSTS)
    frame = slide.shapes.add_chart(chart_type, Inches(1), Inches(top), Inches(7), Inches(4.5), data)
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = title
    return frame


CATEGORY_SERIES_LINES = ["Revenue: Q1 10, Q2 12.5, Q3 9", "Costs: Q1 4, Q2 5.25, Q3 6"]


def rewrite_plot(frame, plot_tag: str, chart_child: str) -> None:
    chart_space = frame.chart._chartSpace
    plot = next(p for p in chart_space.iter() if p.tag.endswith("Chart") and p.tag != qn("c:chart"))
    plot.tag = qn(f"c:{plot_tag}")
    if chart_child:
        chart = chart_space.find(qn("c:chart"))
        chart.insert(1, etree.Element(qn(f"c:{chart_child}")))


def chart_types(path: Path) -> BuiltDeck:
    """One slide per chart type: 3-D and other plots python-pptx raises on, scatter, bubble,
    doughnut, radar, and a column chart with axis titles and a percentage format."""
    prs = Presentation()
    expected = []
    for plot_tag, chart_child, title in REWRITTEN_PLOTS:
        slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
        slide.shapes.title.text = f"Slide about {plot_tag}"
        rewrite_plot(category_chart(slide, title), plot_tag, chart_child)
        expected.append([f"Slide about {plot_tag}", title, *CATEGORY_SERIES_LINES])

    for chart_type, title in [
        (XL_CHART_TYPE.DOUGHNUT, "Doughnut revenue"),
        (XL_CHART_TYPE.RADAR, "Radar revenue"),
    ]:
        slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
        slide.shapes.title.text = f"Slide about {title}"
        category_chart(slide, title, chart_type)
        expected.append([f"Slide about {title}", title, *CATEGORY_SERIES_LINES])

    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Axis titles and shares"
    frame = category_chart(slide, "Margin by quarter")
    chart = frame.chart
    chart.category_axis.has_title = True
    chart.category_axis.axis_title.text_frame.text = "Fiscal quarter"
    chart.value_axis.has_title = True
    chart.value_axis.axis_title.text_frame.text = "Million euros"
    expected.append(
        ["Axis titles and shares", "Margin by quarter", "Fiscal quarter / Million euros"]
        + CATEGORY_SERIES_LINES
    )

    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Scatter and bubble"
    xy = XyChartData()
    latency = xy.add_series("Latency")
    latency.add_data_point(1.5, 20)
    latency.add_data_point(3, 45)
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.XY_SCATTER, Inches(0.5), Inches(1.5), Inches(4), Inches(4), xy
    )
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = "Latency by load"
    bubbles = BubbleChartData()
    bubbles.add_series("Markets").add_data_point(2, 7, 30)
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.BUBBLE, Inches(5), Inches(1.5), Inches(4), Inches(4), bubbles
    )
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = "Market sizes"
    expected.append(
        [
            "Scatter and bubble",
            "Latency by load",
            "Latency: (1.5, 20), (3, 45)",
            "Market sizes",
            "Markets: (2, 7, 30)",
        ]
    )
    prs.save(path)
    return BuiltDeck(path, expected)


def chartex_deck(path: Path) -> BuiltDeck:
    """Office 2016 charts (chartex parts, behind mc:AlternateContent as PowerPoint writes them):
    a waterfall, and a sunburst with two category levels."""
    prs = Presentation()
    expected = []
    charts = [
        (
            "Cash bridge",
            "Cash",
            "waterfall",
            [["Start", "Sales", "Costs", "End"]],
            [100, 40, -25, 115],
            "Cash: Start 100, Sales 40, Costs -25, End 115",
        ),
        (
            "Revenue mix",
            "Mix",
            "sunburst",
            [["Laptops", "Phones", "Chairs"], ["Hardware", "", "Furniture"]],
            [50, 30, 20],
            "Mix: Hardware Laptops 50, Hardware Phones 30, Furniture Chairs 20",
        ),
    ]
    for number, (title, series, layout, levels, values, line) in enumerate(charts, start=1):
        slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
        slide.shapes.title.text = f"Office 2016 {layout} chart"
        add_chartex(prs, slide, number, _chartex_xml(title, series, layout, levels, values))
        expected.append([f"Office 2016 {layout} chart", title, line])
    prs.save(path)
    return BuiltDeck(path, expected, absent=["This chart isn't available"])


def _chartex_xml(title, series, layout, levels, values) -> bytes:
    def level(labels):
        points = "".join(f'<cx:pt idx="{i}">{t}</cx:pt>' for i, t in enumerate(labels) if t)
        return f'<cx:lvl ptCount="{len(labels)}">{points}</cx:lvl>'

    numbers = "".join(f'<cx:pt idx="{i}">{v}</cx:pt>' for i, v in enumerate(values))
    return (
        '<cx:chartSpace xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        f'xmlns:cx="{CHARTEX_URI}">'
        '<cx:chartData><cx:data id="0">'
        f'<cx:strDim type="cat"><cx:f>Sheet1!$A$2:$A$5</cx:f>{"".join(map(level, levels))}</cx:strDim>'
        f'<cx:numDim type="val"><cx:f>Sheet1!$B$2:$B$5</cx:f>'
        f'<cx:lvl ptCount="{len(values)}" formatCode="General">{numbers}</cx:lvl></cx:numDim>'
        "</cx:data></cx:chartData>"
        f"<cx:chart><cx:title><cx:tx><cx:txData><cx:v>{title}</cx:v></cx:txData></cx:tx></cx:title>"
        f'<cx:plotArea><cx:plotAreaRegion><cx:series layoutId="{layout}" uniqueId="{{1}}">'
        f"<cx:tx><cx:txData><cx:f>Sheet1!$B$1</cx:f><cx:v>{series}</cx:v></cx:txData></cx:tx>"
        '<cx:dataId val="0"/></cx:series></cx:plotAreaRegion></cx:plotArea></cx:chart>'
        "</cx:chartSpace>"
    ).encode()


def add_chartex(prs, slide, number: int, xml: bytes, top: float = 1.5) -> None:
    part = Part(PackURI(f"/ppt/charts/chartEx{number}.xml"), CHARTEX_CT, prs.part.package, xml)
    rel_id = slide.part.relate_to(part, CHARTEX_RT)
    frame = (
        f'<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" {NAMESPACES}>'
        '<mc:Choice xmlns:cx1="http://schemas.microsoft.com/office/drawing/2015/9/8/chartex" Requires="cx1">'
        f'<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="{100 + number}" name="Chart {number}"/>'
        "<p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr>"
        f'<p:xfrm><a:off x="914400" y="{int(Inches(top))}"/><a:ext cx="6400800" cy="4114800"/></p:xfrm>'
        f'<a:graphic><a:graphicData uri="{CHARTEX_URI}">'
        f'<cx:chart xmlns:cx="{CHARTEX_URI}" r:id="{rel_id}"/></a:graphicData></a:graphic>'
        "</p:graphicFrame></mc:Choice><mc:Fallback>"
        f'<p:sp><p:nvSpPr><p:cNvPr id="{200 + number}" name="Fallback {number}"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
        f'<p:spPr><a:xfrm><a:off x="914400" y="{int(Inches(top))}"/><a:ext cx="6400800" cy="4114800"/></a:xfrm></p:spPr>'
        "<p:txBody><a:bodyPr/><a:p><a:r><a:t>This chart isn't available in your version of PowerPoint.</a:t></a:r></a:p></p:txBody>"
        "</p:sp></mc:Fallback></mc:AlternateContent>"
    )
    slide.shapes._spTree.append(etree.fromstring(frame))


# --- comments and alt text ----------------------------------------------------------------------


def comments_deck(path: Path) -> BuiltDeck:
    """Slide 1: legacy comments (authors in commentAuthors.xml); slide 2: a modern thread with a
    reply (authors in authors.xml)."""
    prs = Presentation()
    package = prs.part.package
    first = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    first.shapes.title.text = "Budget review"
    second = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    second.shapes.title.text = "Forecast"

    authors = (
        f"<p:cmAuthorLst {NAMESPACES}>"
        '<p:cmAuthor id="0" name="Alice Martin" initials="AM" lastIdx="2" clrIdx="0"/>'
        '<p:cmAuthor id="1" name="Bruno Diaz" initials="BD" lastIdx="1" clrIdx="1"/></p:cmAuthorLst>'
    )
    prs.part.relate_to(
        Part(PackURI("/ppt/commentAuthors.xml"), CT.PML_COMMENT_AUTHORS, package, authors.encode()),
        RT.COMMENT_AUTHORS,
    )
    legacy = (
        f"<p:cmLst {NAMESPACES}>"
        '<p:cm authorId="0" dt="2026-01-05T10:00:00.000" idx="1"><p:pos x="10" y="10"/>'
        "<p:text>Check the travel numbers</p:text></p:cm>"
        '<p:cm authorId="1" dt="2026-01-05T11:00:00.000" idx="1"><p:pos x="10" y="10"/>'
        "<p:text>Travel is within plan</p:text></p:cm></p:cmLst>"
    )
    first.part.relate_to(
        Part(PackURI("/ppt/comments/comment1.xml"), CT.PML_COMMENTS, package, legacy.encode()),
        RT.COMMENTS,
    )

    modern_authors = (
        f'<p188:authorLst xmlns:p188="{P188_NS}">'
        '<p188:author id="{A1}" name="Chen Wei" initials="CW" userId="chen" providerId="None"/>'
        '<p188:author id="{B2}" name="Dana Kim" initials="DK" userId="dana" providerId="None"/>'
        "</p188:authorLst>"
    )
    prs.part.relate_to(
        Part(PackURI("/ppt/authors.xml"), AUTHORS_CT, package, modern_authors.encode()),
        AUTHORS_RT,
    )
    modern = (
        f'<p188:cmLst xmlns:p188="{P188_NS}" {NAMESPACES}>'
        '<p188:cm id="{C1}" authorId="{A1}" created="2026-01-06T09:00:00.000">'
        '<pc:sldMkLst xmlns:pc="http://schemas.microsoft.com/office/powerpoint/2013/main/command"/>'
        '<p188:replyLst><p188:reply id="{R1}" authorId="{B2}" created="2026-01-06T10:00:00.000">'
        "<p188:txBody><a:bodyPr/><a:p><a:r><a:t>Yes, approved on Monday</a:t></a:r></a:p>"
        "</p188:txBody></p188:reply></p188:replyLst>"
        "<p188:txBody><a:bodyPr/><a:p><a:r><a:t>Is the forecast final?</a:t></a:r></a:p>"
        "</p188:txBody></p188:cm></p188:cmLst>"
    )
    second.part.relate_to(
        Part(
            PackURI("/ppt/comments/modernComment_101_1.xml"),
            MODERN_COMMENTS_CT,
            package,
            modern.encode(),
        ),
        MODERN_COMMENTS_RT,
    )
    prs.save(path)
    return BuiltDeck(
        path,
        [
            [
                "Budget review",
                "Alice Martin: Check the travel numbers",
                "Bruno Diaz: Travel is within plan",
            ],
            ["Forecast", "Chen Wei: Is the forecast final?", "Dana Kim: Yes, approved on Monday"],
        ],
    )


def alt_text_deck(path: Path, image: Path) -> BuiltDeck:
    """Pictures with alt text a person wrote, one PowerPoint described by itself, one holding
    only the file name; captions between them."""
    image.write_bytes(tiny_png())
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Team and office"
    org = slide.shapes.add_picture(str(image), Inches(0.5), Inches(1.5), Inches(4), Inches(2))
    org._element.nvPicPr.cNvPr.set("descr", "Org chart of the sales team")
    textbox(slide.shapes, "Caption under the org chart", 0.5, 3.7, width=4)
    auto = slide.shapes.add_picture(str(image), Inches(5), Inches(1.5), Inches(4), Inches(2))
    auto._element.nvPicPr.cNvPr.set(
        "descr", "A picture containing text, indoor\n\nDescription automatically generated"
    )
    slide.shapes.add_picture(str(image), Inches(0.5), Inches(4.5), Inches(2), Inches(2))
    logo = slide.shapes.add_picture(str(image), Inches(5), Inches(4.5), Inches(2), Inches(2))
    logo._element.nvPicPr.cNvPr.set("title", "Company logo")
    logo._element.nvPicPr.cNvPr.set("descr", "Blue circle with the letters ACME")
    prs.save(path)
    return BuiltDeck(
        path,
        [
            [
                "Team and office",
                "Org chart of the sales team",
                "Caption under the org chart",
                "Company logo",
                "Blue circle with the letters ACME",
            ]
        ],
        absent=["Description automatically generated", image.name],
    )


Builder = Callable[[Path], BuiltDeck]


def build_all(folder: Path) -> dict[str, BuiltDeck]:
    """Every deck above, written into `folder`, by name."""
    builders: dict[str, Builder] = {
        "row_of_five": row_of_five,
        "table_with_caption": table_with_caption,
        "scaled_groups": scaled_groups,
        "off_slide_boxes": off_slide_boxes,
        "footer_deck": footer_deck,
        "chart_types": chart_types,
        "chartex": chartex_deck,
        "comments": comments_deck,
        "alt_text": lambda path: alt_text_deck(path, folder / "photo.png"),
    }
    return {name: build(folder / f"{name}.pptx") for name, build in builders.items()}
