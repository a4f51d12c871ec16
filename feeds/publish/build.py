"""``feeds build``: the plan, the cache and the atomic export, put together.

It renders only the outputs whose key changed, writes only the files whose
bytes changed, swaps the new export in at once, and reports which paths
changed (what a hub is told about).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.cache import Cache
from feeds.content import holdback
from feeds.content.holdback import Held
from feeds.digest import code_version, digest
from feeds.errors import ContentError, HeldBack, Problem
from feeds.files import FileRefused, fingerprint, read_inside
from feeds.publish.export import (
    MANIFEST_FILE,
    ExportError,
    Writer,
    publish,
    read_marker,
    write_file,
)
from feeds.publish.report import Report

if TYPE_CHECKING:
    from feeds.outputs.plan import Plan

Progress = Callable[[int, int], None]


def build(
    root: Path,
    out: Path,
    now: datetime,
    cache: Cache | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    strict: bool = False,
) -> Report:
    """Validate ``root`` and write every public output of the site to ``out``.

    A file with problems holds back only itself (:mod:`feeds.content.holdback`): the
    report's ``held`` says which and why. A problem of ``site.toml``, and with
    ``strict`` any file held back but a draft, raises before anything is
    written (:class:`HeldBack` for the latter). With a ``cache``, an
    unchanged site is recognised from its files' stat results alone, an
    article or file whose inputs are unchanged is not rendered again, and
    only files whose bytes changed are written; ``jobs`` processes share the
    parsing and rendering.
    """
    content_dir, export_dir = root.resolve(), out.resolve()
    if export_dir.is_relative_to(content_dir) or content_dir.is_relative_to(export_dir):
        raise ExportError(
            f"{out} and the content directory {root} must not hold one another: an export "
            "inside the content would publish itself (choose another --out)"
        )
    seen: dict[str, tuple[int, int]] = {}  # the one stat of each file
    signature = digest(
        repr((fingerprint(content_dir, seen), code_version(), str(out.absolute()))).encode()
    )
    unchanged = _unchanged(cache, signature, out, now) if cache is not None else None
    if unchanged is not None:
        files, held = unchanged
        _refuse(held, strict)
        expires = cache.get("expires") if cache is not None else None
        due = datetime.fromisoformat(expires) if expires else None
        return Report(files, 0, held=held, whole=False, due=due)
    if cache is not None:
        from feeds.publish import fast  # here: a no-op build needs none of it

        quick = fast.build(content_dir, out, now, cache, signature, strict, seen)
        if quick is not None:
            return quick
    # Only now: a no-op build needs none of the loading and rendering code,
    # whose imports (YAML, Markdown, Jinja, feedgen, Pillow) would be most of its time.
    from feeds import urls
    from feeds.content.directory import load
    from feeds.outputs.plan import Access, Plan
    from feeds.parallel import no_gc

    with no_gc():
        loaded = load(root, cache=cache, jobs=jobs, partial=True)
        _refuse(loaded.held, strict)
        plan = Plan(loaded, now)
        previous = cache.outputs() if cache else {}
        paths = plan.paths(Access.PUBLIC, Access.EXPORT)
        wanted: dict[str, str | None] = {}
        for path in paths:
            last = previous.get(path)
            wanted[path] = last[1] if last and last[0] == plan.key(path) else None
        # An image's export path is its path in the content too; each is read
        # anew, and only from inside images/, when copied (feeds.files).
        sources = {urls.image(name): root / urls.image(name) for name in sorted(plan.images)}

        def read(file: Path) -> bytes:
            relative = file.relative_to(root).as_posix()
            try:
                return read_inside(root, relative)
            except FileRefused as e:  # a link swapped in since it was loaded
                raise ContentError([Problem(relative, None, None, e.reason)]) from e

        digests = (
            cache.digests(sources, read)
            if cache
            else {path: digest(read(file)) for path, file in sources.items()}
        )
        copies = {path: (partial(read, file), digests[path]) for path, file in sources.items()}
        published = publish(out, wanted, _writer(plan, jobs, progress), copies, cache)
    if cache is not None:
        from feeds.publish import fast

        cache.put_outputs({p: (plan.key(p), published.manifest[p]) for p in paths})
        fast.remember(cache, content_dir, out, loaded, now, plan.renderer.nav)
        cache.set(
            signature=signature,
            build=published.build,
            files=str(len(published.manifest)),
            expires=plan.expires.isoformat() if plan.expires else "",
            now=now.isoformat(),
            held=holdback.dump(loaded.held),
        )
    site = plan.content.site
    feeds = tuple(
        (urls.absolute(site.base_url, urls.path_of(path)), plan.key(path), published.manifest[path])
        for path in paths
        if plan.outputs[path].pushed and plan.outputs[path].access is Access.PUBLIC
    )
    return Report(
        len(published.manifest),
        published.written,
        published.changed,
        site.hub,
        feeds,
        loaded.held,
        published.built,
        content=plan.content,
        due=plan.expires,
    )


def _refuse(held: tuple[Held, ...], strict: bool) -> None:
    """``--strict``: stop, writing nothing, if a file other than a draft is held back."""
    stopping = holdback.blocking(held) if strict else ()
    if stopping:
        raise HeldBack([p for h in stopping for p in h.problems])


def _unchanged(
    cache: Cache, signature: str, out: Path, now: datetime
) -> tuple[int, tuple[Held, ...]] | None:
    """The export's number of files and the files held back, if there is
    nothing to do: the same files, the same code, the same export in place,
    and nothing whose time has come since. None otherwise, and for values
    that do not read (not ours, or damaged)."""
    if cache.get("signature") != signature or read_marker(out) != cache.get("build"):
        return None
    if not (out / MANIFEST_FILE).is_file():  # removed by hand, or an older export: write it
        return None
    last, expires, files = cache.get("now"), cache.get("expires"), cache.get("files")
    held = holdback.undump(cache.get("held"))
    try:
        if not last or now < datetime.fromisoformat(last):  # time went back: drafts may hide again
            return None
        if expires and now >= datetime.fromisoformat(expires):
            return None
        return None if held is None else (int(files or 0), held)
    except (ValueError, TypeError):
        return None


#: Fewer files than this to build are not worth starting processes for (the
#: sample site, about 230, builds in about half a second in one).
PARALLEL_FROM = 500


def _writer(plan: Plan, jobs: int, progress: Progress | None) -> Writer:
    from feeds.parallel import fork_map

    def write(target: Path, paths: list[str], present: Mapping[str, str]) -> dict[str, str]:
        count = jobs * 4 if len(paths) >= PARALLEL_FROM else 1
        chunks = [paths[i::count] for i in range(count)]
        built: dict[str, str] = {}
        for result in fork_map(_build_and_write, (plan, target, present), chunks, jobs, minimum=2):
            built.update(result)
            if progress:
                progress(len(built), len(paths))
        return built

    return write


def _build_and_write(
    shared: tuple[Plan, Path, Mapping[str, str]], paths: list[str]
) -> dict[str, str]:
    """Build ``paths`` and write those whose bytes the target lacks."""
    plan, target, present = shared
    built = {}
    for path in paths:
        data = plan.render(path)
        built[path] = sha = digest(data)
        if present.get(path) != sha:
            write_file(target, path, data)
    return built
