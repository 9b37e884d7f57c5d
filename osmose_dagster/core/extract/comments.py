"""Slide comments: legacy (ppt/comments/comment*.xml, authors in commentAuthors.xml) and modern
threaded ones (ppt/comments/modernComment_*.xml with replies, authors in authors.xml).

Both kinds hang off the slide part by a relationship whose type ends in "/comments"; the root
element tells them apart. Each comment becomes "Author: text", its replies on the lines below.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from osmose_dagster.core.extract.ooxml import P188, P, single_line, text_body

_COMMENTS_RELTYPE_SUFFIX = "/comments"
_AUTHORS_RELTYPE_SUFFIXES = ("/commentAuthors", "/authors")

XmlOf = Callable[[object], etree._Element]  # a package part -> its parsed XML


def comment_authors(presentation_part, xml_of: XmlOf) -> dict[str, str]:
    """Author id -> name, from the legacy and the modern author lists."""
    authors: dict[str, str] = {}
    for rel in presentation_part.rels.values():
        if rel.is_external or not rel.reltype.endswith(_AUTHORS_RELTYPE_SUFFIXES):
            continue
        root = xml_of(rel.target_part)
        for author in root.iter(f"{P}cmAuthor", f"{P188}author"):
            if name := single_line(author.get("name", "")):
                authors[author.get("id", "")] = name
    return authors


def comment_parts(slide_part) -> list:
    """The slide's comment parts, in relationship order."""
    return [
        rel.target_part
        for rel in slide_part.rels.values()
        if not rel.is_external and rel.reltype.endswith(_COMMENTS_RELTYPE_SUFFIX)
    ]


def comments_text(root: etree._Element, authors: dict[str, str]) -> list[str]:
    """One entry per comment of a comment part (legacy p:cmLst or modern p188:cmLst)."""
    if root.tag == f"{P}cmLst":
        return [
            entry
            for comment in root.iterchildren(f"{P}cm")
            if (entry := _attributed(comment.findtext(f"{P}text") or "", comment, authors))
        ]
    if root.tag == f"{P188}cmLst":
        threads = (_thread(comment, authors) for comment in root.iterchildren(f"{P188}cm"))
        return [thread for thread in threads if thread]
    return []


def _thread(comment: etree._Element, authors: dict[str, str]) -> str:
    lines = [_attributed(text_body(comment.find(f"{P188}txBody")), comment, authors)]
    for reply in comment.iter(f"{P188}reply"):
        lines.append(_attributed(text_body(reply.find(f"{P188}txBody")), reply, authors))
    return "\n".join(line for line in lines if line)


def _attributed(text: str, element: etree._Element, authors: dict[str, str]) -> str:
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    if not text:
        return ""
    author = authors.get(element.get("authorId", ""), "")
    return f"{author}: {text}" if author else text
