"""Report Markdown to a standalone HTML page, with raw HTML in the Markdown disabled.

Why markdown-it-py: already installed (rich depends on it), CommonMark-exact, and with `html`
off every `<tag>` in the report (evidence is untrusted text) comes out escaped; its link
validation also drops `javascript:` and `data:` URLs.
"""

from __future__ import annotations

import html

from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main>
{body}</main></body></html>
"""


def render_markdown_body(markdown: str) -> str:
    """The Markdown as an HTML fragment (no page around it): every raw tag in it comes out escaped."""
    return _md.render(markdown)


def markdown_page(title: str, markdown: str) -> str:
    return _PAGE.format(title=html.escape(title), body=render_markdown_body(markdown))
