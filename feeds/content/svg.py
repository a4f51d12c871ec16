"""SVG images checked against an allowlist before they are published.

An SVG is a document: a ``<script>``, an event handler (``onload``), a
``javascript:`` link, HTML in a ``<foreignObject>`` or an XHTML element
anywhere runs when the file is opened on its own, with the origin of
wherever it is served, and a stylesheet, image or font it points to is
fetched. The app serves images with a sandboxing Content-Security-Policy,
but an object store (what ``feeds deploy`` writes to) sends none: so a file
is published only when every element and attribute is one of a drawing's
(:data:`ELEMENTS`, :data:`ATTRIBUTES`), it has no DOCTYPE (entities) and no
processing instruction, and every reference is to a fragment (``#id``) or a
``data:`` image. A blocklist misses what it does not name (``<set>`` turning
a link into ``javascript:``, an ``<html:script>``); an allowlist does not.

Parsed with the standard library's expat, which fetches nothing; a DOCTYPE
stops the parse where it starts, before any entity is declared.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.parsers import expat

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
XML = "http://www.w3.org/XML/1998/namespace"

#: The elements of a static drawing (SVG 1.1 and 2), with the transforms'
#: animations. Not here: ``script``, ``foreignObject``, ``set`` and
#: ``animate`` (which can set ``href`` to a script URL), ``handler``,
#: ``listener``, ``iframe``, fonts and anything else.
ELEMENTS = frozenset(
    """svg g defs desc title metadata symbol use switch view a
    path rect circle ellipse line polyline polygon text tspan textPath image
    clipPath mask pattern marker linearGradient radialGradient stop style
    filter feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix
    feDiffuseLighting feDisplacementMap feDistantLight feDropShadow feFlood feFuncA
    feFuncB feFuncG feFuncR feGaussianBlur feImage feMerge feMergeNode feMorphology
    feOffset fePointLight feSpecularLighting feSpotLight feTile feTurbulence
    animateTransform animateMotion mpath""".split()
)

#: Attributes without a namespace that any allowed element may carry:
#: geometry, presentation, filters, the transforms' animation timing.
ATTRIBUTES = frozenset(
    """id class style lang tabindex role focusable version baseProfile
    width height x y x1 y1 x2 y2 cx cy r rx ry fx fy fr d points pathLength
    dx dy rotate textLength lengthAdjust startOffset method spacing side
    viewBox preserveAspectRatio zoomAndPan transform href
    gradientTransform gradientUnits spreadMethod offset
    patternTransform patternUnits patternContentUnits clipPathUnits
    maskUnits maskContentUnits markerUnits markerWidth markerHeight refX refY orient
    filterUnits primitiveUnits result in in2 stdDeviation mode operator
    k1 k2 k3 k4 values type tableValues slope intercept amplitude exponent
    order kernelMatrix divisor bias targetX targetY edgeMode kernelUnitLength
    preserveAlpha surfaceScale diffuseConstant specularConstant specularExponent
    azimuth elevation z pointsAtX pointsAtY pointsAtZ limitingConeAngle scale
    xChannelSelector yChannelSelector radius baseFrequency numOctaves seed stitchTiles
    requiredFeatures requiredExtensions systemLanguage
    attributeName attributeType from to by dur begin end repeatCount repeatDur
    fill keyTimes keySplines keyPoints calcMode additive accumulate restart min max path
    alignment-baseline baseline-shift clip clip-path clip-rule color
    color-interpolation color-interpolation-filters color-profile color-rendering
    cursor direction display dominant-baseline enable-background fill-opacity
    fill-rule filter flood-color flood-opacity font font-family font-size
    font-size-adjust font-stretch font-style font-variant font-weight
    glyph-orientation-horizontal glyph-orientation-vertical image-rendering kerning
    letter-spacing lighting-color marker marker-start marker-mid marker-end mask
    opacity overflow paint-order pointer-events shape-rendering stop-color
    stop-opacity stroke stroke-dasharray stroke-dashoffset stroke-linecap
    stroke-linejoin stroke-miterlimit stroke-opacity stroke-width text-anchor
    text-decoration text-rendering transform-origin unicode-bidi vector-effect
    visibility word-spacing writing-mode mix-blend-mode isolation""".split()
)

#: Namespaced attributes allowed: XLink's link and title, ``xml:lang`` and ``xml:space``
#: (not ``xml:base``, which moves every reference).
NAMESPACED = frozenset({(XLINK, "href"), (XLINK, "title"), (XML, "lang"), (XML, "space")})

#: Editors' bookkeeping (Inkscape, Sodipodi, RDF metadata): elements and
#: attributes no browser acts on, allowed anywhere.
INERT = frozenset(
    {
        "http://www.inkscape.org/namespaces/inkscape",
        "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "http://purl.org/dc/elements/1.1/",
        "http://purl.org/dc/terms/",
        "http://creativecommons.org/ns#",
    }
)

#: What browsers ignore inside a URL (``java&#9;script:``).
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
#: The ``data:`` images a reference may embed (an SVG image is a document).
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp)[;,]", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)


class Refused(Exception):
    """What the file holds that is not allowed, and its line."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _allowed_reference(value: str) -> bool:
    target = _IGNORED.sub("", value)
    return target.startswith("#") or _DATA_IMAGE.match(target) is not None


def _css_problem(css: str) -> str | None:
    """What in a stylesheet or ``style`` value points outside the file."""
    if "\\" in css:
        return "a CSS escape"
    if "@import" in css.lower():
        return "an @import"
    for found in _CSS_URL.finditer(css):
        if not _allowed_reference(found.group(2)):
            return f"a reference to {found.group(2)[:60]!r}"
    if re.search(r"url\s*\(", css, re.IGNORECASE) and not _CSS_URL.search(css):
        return "a malformed url()"
    return None


def _split(name: str) -> tuple[str, str]:
    space, _, local = name.rpartition(" ")
    return space, local


class _Checker:
    def __init__(self) -> None:
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartDoctypeDeclHandler = self.doctype
        self.parser.EntityDeclHandler = self.entity
        self.parser.ProcessingInstructionHandler = self.instruction
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text
        self.depth = 0
        self.style: list[str] | None = None

    def refuse(self, message: str) -> None:
        raise Refused(self.parser.CurrentLineNumber, message)

    def doctype(self, *_: object) -> None:
        self.refuse("has a DOCTYPE (entities, an external DTD)")

    def entity(self, *_: object) -> None:
        self.refuse("declares an entity")

    def instruction(self, target: str, _data: str) -> None:
        self.refuse(f"has a processing instruction <?{target}?>")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        space, local = _split(name)
        if self.depth == 0 and (space, local) != (SVG, "svg"):
            self.refuse(f"has <{local}> as its root, not an SVG <svg> element")
        self.depth += 1
        if space in INERT:
            return  # an editor's bookkeeping, attributes and all
        if space != SVG:
            where = f" in namespace {space}" if space else " outside the SVG namespace"
            self.refuse(f"has a <{local}> element{where}")
        if local not in ELEMENTS:
            self.refuse(f"has a <{local}> element")
        for key, value in attributes.items():
            self.attribute(local, key, value)
        if space == SVG and local == "style":
            self.style = []

    def attribute(self, element: str, key: str, value: str) -> None:
        space, local = _split(key)
        shown = f"{local}=" if not space else f"{{{space}}}{local}="
        if space in INERT:
            return
        if not space and local.lower().startswith("on"):
            self.refuse(f"has an event handler, {local}=")
        if not (space and (space, local) in NAMESPACED) and not (
            not space and (local in ATTRIBUTES or local.startswith(("aria-", "data-")))
        ):
            self.refuse(f"has a {shown} attribute on <{element}>")
        if local == "href" and not _allowed_reference(value):
            self.refuse(f"has a reference in {local}= to {value[:60]!r}")
        found = _css_problem(value) if ("url" in value.lower() or local == "style") else None
        if found:
            self.refuse(f"has {found} in {local}=")

    def text(self, data: str) -> None:
        if self.style is not None:
            self.style.append(data)

    def end(self, name: str) -> None:
        self.depth -= 1
        if self.style is not None and _split(name) == (SVG, "style"):
            found = _css_problem("".join(self.style))
            self.style = None
            if found:
                self.refuse(f"has {found} in a <style>")


def refused_in(path: Path) -> tuple[int | None, str] | None:
    """What in the SVG at ``path`` is not allowed, said for the editor, and
    its line; None when the file is a plain drawing."""
    checker = _Checker()
    try:
        with path.open("rb") as file:
            checker.parser.ParseFile(file)
    except Refused as e:
        return e.line, e.message
    except expat.ExpatError as e:
        return e.lineno, f"is not a well-formed SVG ({expat.errors.messages[e.code]})"
    except OSError as e:
        return None, f"cannot be read ({e.strerror})"
    return None
