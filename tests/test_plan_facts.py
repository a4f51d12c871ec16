"""Every output of the plan carries the facts publishing needs, read off the
plan rather than guessed again from its path: its headers, its CDN keys, its
upload rank, and whether it is a feed (in which format) and one a hub is told
of. A new kind of output without one of them fails here, not in production.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from conftest import NOW, REPO
from feeds import urls
from feeds.content.directory import load
from feeds.outputs import headers
from feeds.outputs.plan import Access, Plan
from feeds.publish import deploy


def sample_plan(days: int = 0) -> Plan:
    """The sample's plan, with feeds of three items: so its listings have
    sealed archive documents too."""
    loaded = load(REPO / "content")
    site = dataclasses.replace(loaded.content.site, feed_items=3)
    content = dataclasses.replace(loaded.content, site=site)
    return Plan(dataclasses.replace(loaded, content=content), NOW + timedelta(days=days))


@pytest.fixture(scope="module", params=[0, 120], ids=["now", "later"])
def plan(request: pytest.FixtureRequest) -> Plan:
    """Now, and at a later moment: more stories public, other archive documents."""
    return sample_plan(request.param)


def test_the_sample_plans_every_audience(plan: Plan) -> None:
    """The checks below cover public, exported-only and token outputs alike."""
    audiences = {out.access for out in plan.outputs.values()}
    assert audiences == set(Access)


def test_every_output_has_its_headers(plan: Plan) -> None:
    site = dataclasses.replace(plan.content.site, hub="https://hub.example.net/")
    for path, out in plan.outputs.items():
        if out.access is Access.TOKEN:
            found = dict(headers.private(path))
            assert found["Vary"] == "Authorization", path
            assert "Link" not in found, path  # a hub has no token
        else:
            found = dict(headers.headers(path, site, out.lasting))
            # The headers' hub decision, taken from the path, is the plan's.
            assert ("Link" in found) == out.pushed, path
            # Long-kept by the plan's word and by the fast path's, which has no plan.
            assert out.lasting == headers.is_lasting(path), path
            assert dict(headers.headers(path, site)) == found, path
        if out.access is Access.EXPORT:  # the static host's own files, read not served
            assert path in (headers.HEADERS_FILE, headers.REDIRECTS_FILE), path
        else:
            assert found["Content-Type"] != "application/octet-stream", path
        assert found["Cache-Control"], path
        assert found["X-Content-Type-Options"] == "nosniff", path


def test_every_output_has_its_cdn_keys(plan: Plan) -> None:
    for path in plan.outputs:
        keys = plan.surrogate_keys(path)
        assert keys[-1] == headers.SITE_KEY, path
        assert len(keys) >= 2 and headers.SITE_KEY not in keys[:-1], path
        assert dict(headers.surrogate(keys, 60)), path


def test_every_output_has_an_upload_rank_after_what_it_names(plan: Plan) -> None:
    """A feed goes up after the pages, the lists of feeds and sitemaps after
    the feeds: whatever names a file is uploaded after it."""
    ranks = {path: deploy.rank(path) for path in plan.outputs}
    assert set(ranks.values()) <= set(range(deploy.ASSET, deploy.INDEX + 1))
    for path, out in plan.outputs.items():
        if out.fmt is not None:
            assert ranks[path] == deploy.FEED, path
    assert ranks[urls.OPML] == ranks[urls.SITEMAP] == deploy.INDEX
    pages = [r for path, r in ranks.items() if path.endswith(".html") and path != urls.NOT_FOUND]
    assert max(pages) < deploy.FEED


def test_a_feed_is_known_by_the_plan_and_by_its_path_alike(plan: Plan) -> None:
    formats = {out.fmt for out in plan.outputs.values()}
    assert formats == {None, *urls.FEED_FILES}
    for path, out in plan.outputs.items():
        assert (out.fmt is not None) == urls.is_feed(path), path
        if out.fmt is not None:
            assert path.endswith(urls.FEED_FILES[out.fmt]), path
        if out.access is not Access.TOKEN:
            assert out.pushed == urls.names_hub(path), path
        else:
            assert not out.pushed, path
    assert any(out.pushed for out in plan.outputs.values())
    assert any(out.fmt and out.lasting and not out.pushed for out in plan.outputs.values())
