"""Give each article the full text feeds gives it: the lead image, the body and
the republishing footer (producer, author bios in byline order, licence,
original link, source). Pelican's pages and its feeds both show an article's
content, so both carry all of it. The summary stays that of the body alone.
"""

from html import escape

from pelican import signals
from pelican.contents import Article
from pelican.utils import truncate_html_words


def register() -> None:
    signals.content_object_init.connect(add_full_text)


def _link(url: str | None, text: str, rel: str = "") -> str:
    if not url:
        return escape(text)
    rel_attr = f' rel="{rel}"' if rel else ""
    return f'<a href="{escape(url)}"{rel_attr}>{escape(text)}</a>'


def figure(meta: dict[str, str]) -> str:
    caption = []
    if meta.get("image_caption"):
        caption.append(escape(meta["image_caption"]))
    if meta.get("image_credit"):
        credit = _link(meta.get("image_credit_url"), meta["image_credit"])
        caption.append(f'<small class="credit">Credit: {credit}</small>')
    figcaption = f"<figcaption>{' '.join(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="{escape(meta["image"])}" alt="{escape(meta.get("image_alt", ""))}">'
        f"{figcaption}</figure>"
    )


def footer(article: Article) -> str:
    meta = article.metadata
    info = article.settings["AUTHORS_INFO"]
    canonical = meta.get("canonical_url") or f"{article.settings['SITEURL']}/{article.url}"
    parts = [f"<p><em>This article was produced by {_link(canonical, meta['producer'])}.</em></p>"]
    for author in getattr(article, "authors", []):
        bio = info.get(author.name)
        if bio and bio["bio_html"]:
            parts.append(f"<p><strong>{_link(bio['url'], author.name)}</strong></p>")
            parts.append(bio["bio_html"])
    if meta.get("license_url"):
        parts.append(
            "<p>This article is licensed under "
            f"{_link(meta['license_url'], meta['license_name'], rel='license')}"
            f" ({escape(meta['license_label'])}).</p>"
        )
    else:
        parts.append(f"<p>{escape(meta['license_name'])}.</p>")
    parts.append(f"<p>Original article: {_link(canonical, canonical)}</p>")
    parts.append(f"<p>Source: {escape(meta['source'])}</p>")
    return '<footer class="republishing"><hr>' + "".join(parts) + "</footer>"


def add_full_text(content: object) -> None:
    if not isinstance(content, Article):
        return
    settings = content.settings
    body = content._content
    if not hasattr(content, "_summary"):
        # Pelican reads this back and resolves its intra-site links.
        content._summary = truncate_html_words(
            body, settings["SUMMARY_MAX_LENGTH"], settings["SUMMARY_END_SUFFIX"]
        )
    lead = figure(content.metadata) if content.metadata.get("image") else ""
    content._content = f'{lead}<div class="body">\n{body}\n</div>\n{footer(content)}'
