"""Pelican's settings for the benchmark: feeds' URLs, pagination and feeds.

The site's own values (title, URL, time zone, the authors and their Markdown
bios) come from ``site.json``, written beside this file by ``bench/peers.py``.
The bios are rendered here, in Pelican's process, with Pelican's Markdown.
"""

import json
from pathlib import Path

import markdown

HERE = Path(__file__).resolve().parent
SITE = json.loads((HERE / "site.json").read_text(encoding="utf-8"))

SITENAME = SITE["title"]
SITESUBTITLE = SITE["description"]
SITEURL = SITE["base_url"]
FEED_DOMAIN = SITEURL
TIMEZONE = SITE["timezone"]
DEFAULT_LANG = SITE["language"]
DEFAULT_DATE_FORMAT = "%-d %B %Y"

PATH = str(HERE / "content")
THEME = str(HERE / "theme")
PLUGIN_PATHS = [str(HERE / "plugins")]
PLUGINS = ["fulltext"]
ARTICLE_PATHS = ["articles"]
PAGE_PATHS: list[str] = []
STATIC_PATHS = ["images"]
# Cold builds: nothing kept from one build to the next (Pelican's defaults).
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False

ARTICLE_URL = "articles/{slug}/"
ARTICLE_SAVE_AS = "articles/{slug}/index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = "tags/{slug}/index.html"
AUTHOR_URL = "authors/{slug}/"
AUTHOR_SAVE_AS = "authors/{slug}/index.html"
# feeds has sections but no section pages; Pelican calls them categories.
CATEGORY_URL = ""
CATEGORY_SAVE_AS = ""
# Only the index among the "direct" pages: no archives, no lists of tags or authors.
DIRECT_TEMPLATES = ["index"]

DEFAULT_PAGINATION = 20
PAGINATED_TEMPLATES = {"index": None, "tag": None, "author": None}
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

FEED_MAX_ITEMS = SITE["feed_items"]
RSS_FEED_SUMMARY_ONLY = False  # the full text in RSS too
FEED_ALL_ATOM = "atom.xml"
FEED_ALL_RSS = "rss.xml"
TAG_FEED_ATOM = "tags/{slug}/atom.xml"
TAG_FEED_RSS = "tags/{slug}/rss.xml"
AUTHOR_FEED_ATOM = "authors/{slug}/atom.xml"
AUTHOR_FEED_RSS = "authors/{slug}/rss.xml"
CATEGORY_FEED_ATOM = None
CATEGORY_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None

#: By author name (Pelican knows authors by name): id, URL and bio as HTML.
AUTHORS_INFO = {
    name: {**info, "bio_html": markdown.markdown(info["bio"], output_format="html")}
    for name, info in SITE["authors"].items()
}
