"""schema.org ``NewsArticle`` in JSON-LD, for search engines and news
aggregators: what an article page tells crawlers about its story.

The values are the ones the page and the feeds show: the lead image only when
it may be shared (else the site's logo, as ``og:image``), each author with
their page on this site (or the address the content gives), the licence's
deed. Written into a ``<script>`` element, so ``<``, ``>`` and ``&`` go as
JSON escapes: no title can close the element.
"""

from __future__ import annotations

import json
from typing import Any

from feeds import urls
from feeds.model import Article, Author, Site
from feeds.outputs.render import shared_image

CONTEXT = "https://schema.org"


def news_article(article: Article, site: Site) -> dict[str, Any]:
    """The ``NewsArticle`` node of ``article``."""
    image = shared_image(article)
    found: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.summary,
        "url": article.url,
        "mainEntityOfPage": article.url,
        "inLanguage": article.language,
        "datePublished": article.date.isoformat(),
        "dateModified": article.modified.isoformat(),
        "author": [_person(author, site) for author in article.authors],
        "publisher": publisher(site),
        "isAccessibleForFree": True,
    }
    pictures = [image.url] if image else [site.logo] if site.logo else []
    if pictures:
        found["image"] = pictures
    if article.license.url:
        found["license"] = article.license.url
    if article.section:
        found["articleSection"] = article.section
    if article.tags:
        found["keywords"] = [tag.name for tag in article.tags]
    return found


def publisher(site: Site) -> dict[str, Any]:
    """The site as an ``Organization``."""
    found: dict[str, Any] = {"@type": "Organization", "name": site.title, "url": site.base_url}
    if site.logo:
        found["logo"] = {"@type": "ImageObject", "url": site.logo}
    return found


def _person(author: Author, site: Site) -> dict[str, Any]:
    found: dict[str, Any] = {"@type": "Person", "name": author.name}
    page = urls.absolute(site.base_url, urls.author(author.id)) if author.id else None
    if page or author.url:
        found["url"] = page or author.url
    if page and author.url and author.url != page:
        found["sameAs"] = author.url
    return found


def script_text(node: dict[str, Any]) -> str:
    """``node`` as the text of a ``<script type="application/ld+json">``."""
    text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
