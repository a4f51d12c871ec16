"""What is safe HTML, as the tests check it: an HTML parser's view of a
fragment, the check that no active content survives in it, and the known
XSS vectors every field is tried with (tests/test_render.py,
tests/test_hostile.py)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

BLOCK_TAGS = frozenset(
    "blockquote dd div dl dt figcaption figure h1 h2 h3 h4 h5 h6 hr li ol p pre table td th "
    "tr ul".split()
)


@dataclass
class Parsed:
    """Everything :class:`html.parser.HTMLParser` saw in a fragment."""

    #: ``(tag, [(attribute, value), ...])`` for every start tag, in order.
    tags: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    #: Decoded text nodes, in order.
    text: list[str] = field(default_factory=list)
    #: ``(attributes, decoded text)`` for every ``<a>``.
    anchors: list[tuple[dict[str, str], str]] = field(default_factory=list)
    #: Comments, CDATA sections and other declarations (there should be none).
    hidden: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.tags]

    @property
    def all_text(self) -> str:
        return "".join(self.text)

    def attrs(self, tag: str) -> list[dict[str, str]]:
        return [dict(attrs) for name, attrs in self.tags if name == tag]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.result = Parsed()
        self._anchor: tuple[dict[str, str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pairs = [(name, value or "") for name, value in attrs]
        self._break(tag)
        self.result.tags.append((tag, pairs))
        if tag == "a":
            self._close_anchor()
            self._anchor = (dict(pairs), [])

    def handle_endtag(self, tag: str) -> None:
        self._break(tag)
        if tag == "a":
            self._close_anchor()

    def handle_data(self, data: str) -> None:
        self.result.text.append(data)
        if self._anchor is not None:
            self._anchor[1].append(data)

    def handle_comment(self, data: str) -> None:
        self.result.hidden.append(f"<!--{data}-->")

    def unknown_decl(self, data: str) -> None:
        self.result.hidden.append(f"<![{data}]>")

    def handle_decl(self, decl: str) -> None:
        self.result.hidden.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.result.hidden.append(f"<?{data}>")

    def _break(self, tag: str) -> None:
        """Block elements separate words even when the markup has no space."""
        if tag in BLOCK_TAGS:
            self.result.text.append("\n")

    def _close_anchor(self) -> None:
        if self._anchor is not None:
            attrs, text = self._anchor
            self.result.anchors.append((attrs, "".join(text)))
            self._anchor = None

    def finish(self) -> Parsed:
        self.close()
        self._close_anchor()
        return self.result


def parse(fragment: str) -> Parsed:
    collector = _Collector()
    collector.feed(fragment)
    return collector.finish()


def text_of(fragment: str) -> str:
    """The decoded text of a fragment, whitespace collapsed."""
    return " ".join(parse(fragment).all_text.split())


FORBIDDEN_TAGS = frozenset(
    """script style iframe object embed form base meta link svg math input button textarea
    select video audio source details body html template frame frameset""".split()
)
FORBIDDEN_ATTRIBUTES = frozenset({"style", "srcdoc", "formaction"})
STYLE_ALLOWED_ON = frozenset({"td", "th"})
URL_ATTRIBUTES = frozenset({"href", "src"})
SAFE_SCHEMES = ("http:", "https:", "mailto:")
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


def squeeze_url(value: str) -> str:
    """A URL as a browser's scheme check sees it: no whitespace, no control
    characters, lowercase."""
    kept = (ch for ch in value if not ch.isspace() and unicodedata.category(ch) != "Cc")
    return "".join(kept).lower()


def assert_safe_html(fragment: str, text_in_attributes: bool = False) -> None:
    """No active content of any kind survives in ``fragment``.

    Rendered Markdown must not even keep a vector's text in an attribute;
    with ``text_in_attributes``, plain-text fields shown in attributes (an
    ``alt``) may say anything, escaped, since that is text and not code."""
    parsed = parse(fragment)
    for tag, attrs in parsed.tags:
        assert tag not in FORBIDDEN_TAGS, f"<{tag}> survived in {fragment!r}"
        for name, value in attrs:
            assert not name.startswith("on"), f"{name} on <{tag}> survived in {fragment!r}"
            if name == "style":
                assert tag in STYLE_ALLOWED_ON, f"style on <{tag}> survived in {fragment!r}"
            else:
                assert name not in FORBIDDEN_ATTRIBUTES, f"{name} survived in {fragment!r}"
            if name in URL_ATTRIBUTES:
                url = squeeze_url(value)
                assert url.startswith(SAFE_SCHEMES), f"{name}={value!r} in {fragment!r}"
                for scheme in BAD_SCHEMES:
                    assert scheme not in url, f"{name}={value!r} in {fragment!r}"
            if not text_in_attributes or name in URL_ATTRIBUTES:
                assert "alert(" not in value, f"{name}={value!r} on <{tag}> in {fragment!r}"
    assert not parsed.hidden, f"comment or declaration survived in {fragment!r}"


XSS_VECTORS = [
    ("script", "<script>alert(1)</script>"),
    ("script-src-upper", "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>"),
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-mixed-case", '<IMG SRC="x" OnError="alert(1)">'),
    ("svg-onload", "<svg onload=alert(1)>"),
    (
        "svg-xlink-href",
        '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    ),
    (
        "math-mglyph-style",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
        "</style></mglyph></table></mtext></math>",
    ),
    ("math-href", '<math href="javascript:alert(1)">click</math>'),
    ("iframe-src", '<iframe src="javascript:alert(1)"></iframe>'),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    ("object-data", '<object data="javascript:alert(1)"></object>'),
    ("embed-src", '<embed src="javascript:alert(1)">'),
    (
        "form-formaction",
        '<form action="javascript:alert(1)">'
        '<button formaction="javascript:alert(1)">go</button></form>',
    ),
    ("base-href", '<base href="javascript:alert(1)//">'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("style-block", "<style>body{background:url(javascript:alert(1))}</style>"),
    ("link-stylesheet", '<link rel="stylesheet" href="javascript:alert(1)">'),
    ("md-javascript", "[x](javascript:alert(1))"),
    ("md-javascript-mixed-case", "[x](JaVaScRiPt:alert(1))"),
    # Browsers drop tabs inside URLs; the payload must not survive in any attribute.
    ("md-javascript-tab-entity", "[x](java&#x09;script:alert(1))"),
    (
        "md-javascript-decimal-entities",
        "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    ),
    ("md-vbscript", "[x](vbscript:msgbox(1))"),
    ("md-data-href", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    ("md-data-src", "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    ("md-image-javascript", "![x](javascript:alert(1))"),
    ("md-angle-javascript", "[x](<javascript:alert(1)>)"),
    ("md-reference-javascript", "[x][r]\n\n[r]: javascript:alert(1)"),
    ("a-data-href", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'),
    ("img-data-src", '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'),
    ("a-leading-space", '<a href=" javascript:alert(1)">x</a>'),
    ("a-entity-j", '<a href="&#106;avascript:alert(1)">x</a>'),
    ("a-newline-entity", '<a href="jav&#x0A;ascript:alert(1)">x</a>'),
    (
        "a-hex-entities",
        '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;'
        'alert(1)">x</a>',
    ),
    ("a-colon-entity", '<a href="javascript&colon;alert(1)">x</a>'),
    ("a-vbscript", '<a href="vbscript:msgbox(1)">x</a>'),
    ("img-tab-entity", '<img src="jav&#x09;ascript:alert(1)">'),
    ("autolink-javascript", "<javascript:alert(1)>"),
    ("autolink-attribute-breakout", '<https://ok.example/" onmouseover="alert(1)>'),
    ("onclick-mixed-case", '<a href="https://ok.example/" OnClick="alert(1)">x</a>'),
    ("details-ontoggle", "<details open ontoggle=alert(1)>x</details>"),
    ("body-onload", "<body onload=alert(1)>"),
    ("input-onfocus", "<input autofocus onfocus=alert(1)>"),
    ("video-source-onerror", "<video><source onerror=alert(1)></video>"),
    ("audio-onerror", "<audio src=x onerror=alert(1)></audio>"),
    (
        "a-style-overlay",
        '<a href="x" style="position:fixed;top:0;left:0;width:100%;height:100%">x</a>',
    ),
    ("p-style-url", '<p style="background:url(javascript:alert(1))">x</p>'),
    (
        "td-style-and-handler",
        '<table><tr><td style="background:url(javascript:alert(1))" '
        'onmouseover="alert(1)">c</td></tr></table>',
    ),
    ("textarea-script", "<textarea><script>alert(1)</script></textarea>"),
    ("select-button", "<select><option>x</option></select><button onclick=alert(1)>b</button>"),
    ("template-img", "<template><img src=x onerror=alert(1)></template>"),
    ("frameset-frame", '<frameset onload=alert(1)><frame src="javascript:alert(1)"></frameset>'),
    ("cdata-then-script", "<![CDATA[ ]]><script>alert(1)</script>"),
    ("cdata-breaker", "text ]]> <img src=x onerror=alert(1)>"),
    ("comment-hiding-script", "<!-- <script>alert(1)</script> -->"),
    ("comment-short-close", "<!--><script>alert(1)</script>-->"),
    ("conditional-comment", "<!--[if IE]><script>alert(1)</script><![endif]-->"),
    ("nested-script-split", "<scr<script>ipt>alert(1)</script>"),
    ("unclosed-anchor", '<a href="javascript:alert(1)"><b>unclosed'),
    ("unclosed-img-tag", "<img src=x onerror=alert(1)"),
    ("nested-div-anchor", "<div><p><a href='javascript:alert(1)'>nested</a></p></div>"),
    (
        "noscript-title-breakout",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    ),
    ("whole-document", "<html><head><title>t</title></head><body onload=alert(1)>x</body></html>"),
]
