"""The third red-team round (issue 23): each fault reproduced as it was
reported, in process, and bounded growth proven by counting rows and
printed lines, never by timing."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, state_database, state_env, write
from feeds.cli import AUDIT_LIMIT, main
from feeds.publish.build import build
from feeds.state import partners
from feeds.state.audit import REFUSED_CLIENTS
from feeds.state.database import State
from feeds.state.url import default_url
from webapp import create_app


def app_for(root: Path, **config: Any) -> Any:
    return create_app({"CONTENT": str(root), "NOW": NOW.isoformat(), "CACHE": None, **config})


def state_file() -> Path:
    return Path(os.environ["FEEDS_STATE"])


def written(app: Any) -> None:
    """What the app's workers hold is written now (not a second later)."""
    assert app.extensions["feeds.audit"].flush() is True
    assert app.extensions["feeds.pixels"].flush() is True


def rows_of(table: str) -> int:
    """Rows of ``table``; 0 when the state database has none (never opened)."""
    if not state_file().exists():
        return 0
    with sqlite3.connect(state_file()) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        found = db.execute(f"SELECT count(*) FROM {table}").fetchone() if table in tables else [0]
    return int(found[0])


def audit_rows() -> int:
    """Every row the audit keeps, refusal counts included."""
    return rows_of("audit") + rows_of("refusals")


def add_partner(name: str, scope: str = partners.EARLY_ACCESS) -> str:
    state = State(default_url(os.environ))
    try:
        token, kept = partners.new_token()
        assert state.add_partner(name, scope, None, kept, NOW.timestamp())
    finally:
        state.close()
    return token


# ------------------------------------------------------------ 1. the audit is bounded

FLOOD = 3_000


def test_refused_requests_leave_a_bounded_audit(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported: 3,175 requests without a token grew state.db from 64 KB to
    14 MB in 15 s, a row each with a 2,000-character path; `feeds partner
    audit` then printed every row (528 MB at 200,000)."""
    app = app_for(sample)
    client = app.test_client()
    agent = "A" * 500
    for number in range(FLOOD):
        response = client.get(
            f"/partners/{number}/" + "p" * 2000,
            headers={"User-Agent": agent},
            # Ten clients: what one host behind a few addresses sends.
            environ_base={"REMOTE_ADDR": f"192.0.2.{number % 10}"},
        )
        assert response.status_code == 401
    written(app)
    # One count per client, hour and outcome (the flood stays within an hour).
    assert audit_rows() <= 10
    with sqlite3.connect(state_file()) as db:
        counted = db.execute("SELECT sum(requests), max(length(path)) FROM refusals").fetchone()
    assert counted[0] == FLOOD  # every request is counted
    assert counted[1] <= 500  # what is stored of each is clipped

    code = main(["partner", "audit", "--content", str(sample)])
    printed = capsys.readouterr().out
    assert code == 0
    assert " 401 " in printed and "no token" in printed and f" {FLOOD // 10} " in printed

    editor = add_partner("Night desk", partners.EDITOR)
    desk = client.get("/desk/", headers={"Authorization": f"Bearer {editor}"})
    assert desk.status_code == 200
    refused = desk.text.split('<table class="refused">', 1)[1].split("</table>", 1)[0]
    assert refused.count("<tr><td") == 10 and f"<td>{FLOOD // 10}</td>" in refused


def test_many_clients_are_named_up_to_a_cap_the_rest_counted_as_other(sample: Path) -> None:
    app = app_for(sample)
    client = app.test_client()
    for number in range(FLOOD):
        client.get(
            "/partners/rss.xml",
            environ_base={"REMOTE_ADDR": f"10.0.{number // 250}.{number % 250}"},
        )
    written(app)
    assert audit_rows() <= REFUSED_CLIENTS + 1
    with sqlite3.connect(state_file()) as db:
        other = db.execute("SELECT requests FROM refusals WHERE client = 'other'").fetchone()
    assert other[0] == FLOOD - REFUSED_CLIENTS


def test_the_audit_command_prints_at_most_its_limit(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = add_partner("La Prensa")
    app = app_for(sample)
    client = app.test_client()
    for _ in range(3 * AUDIT_LIMIT):
        response = client.get("/partners/rss.xml", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    written(app)
    assert rows_of("audit") == 3 * AUDIT_LIMIT  # a granted fetch is a row of its own
    assert main(["partner", "audit", "--content", str(sample)]) == 0
    lines = capsys.readouterr().out.splitlines()
    fetches = [line for line in lines if " ok " in line]
    assert len(fetches) == AUDIT_LIMIT
    assert lines[-1] == f"({2 * AUDIT_LIMIT} older fetches not shown: --limit N, 0 for all)"
    assert main(["partner", "audit", "--content", str(sample), "--limit", "0"]) == 0
    assert len([x for x in capsys.readouterr().out.splitlines() if " ok " in x]) == 3 * AUDIT_LIMIT


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A state database of its own, which the app and the command line use."""
    with state_database(request.param, tmp_path) as url:
        for key, value in state_env(url).items():
            monkeypatch.setenv(key, value)
        yield url


def test_granted_fetches_are_kept_audit_days_and_no_longer(
    sample: Path,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each granted fetch was a row kept for ever: a partner polling every
    minute added 525,600 rows a year. Rows older than site.toml's
    `audit_days` are deleted as new ones are written."""
    toml = sample / "site.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "audit_days = 3\n", encoding="utf-8")
    token = add_partner("La Prensa")
    clock = [NOW]
    # No notifier: its threads would outlive the database the fixture drops.
    monkeypatch.setattr("webapp.app.configured", lambda url=None: False)
    app = create_app({"CONTENT": str(sample), "CLOCK": lambda: clock[0], "CACHE": None})
    client = app.test_client()
    for day in range(10):
        clock[0] = NOW + timedelta(days=day)
        for _ in range(5):
            response = client.get("/partners/rss.xml", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
        written(app)
    app.extensions["feeds.audit"].stop()
    app.extensions["feeds.pixels"].stop()
    app.extensions["feeds.state"]().close()
    state = State(default_url(os.environ))
    try:
        kept = state.audit()
    finally:
        state.close()
    # The last three days and the one at their start: what `audit_days = 3` keeps.
    assert len(kept) == 4 * 5
    assert min(e.at for e in kept) == (NOW + timedelta(days=6)).timestamp()
    assert main(["partner", "audit", "--content", str(sample), "--limit", "0"]) == 0
    assert len([x for x in capsys.readouterr().out.splitlines() if " ok " in x]) == 20


# ------------------------------------------------------ 5. terminal controls forge rows


def screen_of(printed: str) -> list[str]:
    """What a terminal shows of ``printed`` (pyte, as the issue rendered it)."""
    import pyte

    screen = pyte.Screen(400, 60)
    stream = pyte.Stream(screen)
    stream.feed(printed.replace("\n", "\r\n"))  # what the tty's onlcr does
    return [line.rstrip() for line in screen.display if line.strip()]


FORGED = "\x9b1G\x9b2K2026-11-26 23:59  El Diario  fp_x  200  9000  ok  10.9.9.9  /partners/rss.xml"


def test_terminal_controls_in_a_request_cannot_forge_an_audit_row(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported: a user agent ``\\x9b1G\\x9b2K<a fake row>`` made the audit, as
    a terminal shows it, erase the sender's own 401 row and show a forged
    200 row for another partner."""
    app = app_for(sample)
    client = app.test_client()
    response = client.get("/partners/%E2%80%AE/rss.xml", headers={"User-Agent": FORGED + "\u202e"})
    assert response.status_code == 401
    written(app)
    with sqlite3.connect(state_file()) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        stored = "".join(
            r[0] + r[1]
            for t in ("audit", "refusals")
            if t in tables
            for r in db.execute(f"SELECT path, agent FROM {t}")
        )
    assert all(c.isprintable() for c in stored), stored
    assert main(["partner", "audit", "--content", str(sample)]) == 0
    printed = capsys.readouterr().out
    assert all(c.isprintable() for c in printed.replace("\n", "")), repr(printed)
    shown = screen_of(printed)
    ours = [line for line in shown if "no token" in line]
    assert len(ours) == 1 and "\\x9b1G\\x9b2K" in ours[0], shown
    assert not any(line.startswith("2026-11-26 23:59") for line in shown), shown


def test_no_command_prints_a_control_from_the_database(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows written before this fix (or by another tool) are shown escaped too."""
    add_partner("La Prensa")
    with sqlite3.connect(state_file()) as db:
        db.execute(
            "INSERT INTO audit (at, partner, token, path, status, bytes, client, agent, outcome)"
            " VALUES (?, 'La Prensa', 't', ?, 200, 1, '127.0.0.1', ?, 'ok')",
            (NOW.timestamp(), "/partners/\x9b2K", "\x1b[2J\u202eevil\u200f"),
        )
    assert main(["partner", "audit", "--content", str(sample)]) == 0
    assert main(["partner", "list", "--content", str(sample)]) == 0
    printed = capsys.readouterr().out
    assert "\\x9b2K" in printed and "\\x1b[2J\\u202eevil\\u200f" in printed
    assert all(c.isprintable() for c in printed.replace("\n", "")), repr(printed)


# ------------------------------------------------- 2, 3. the pixel's origins are bounded


def pixel_site(root: Path) -> tuple[Any, str]:
    """The app of ``root`` with the built-in pixel, and one article's pixel path."""
    toml = root / "site.toml"
    text = re.sub(r"(?m)^republish_pixel = .*$", 'republish_pixel = "builtin"', toml.read_text())
    toml.write_text(text, encoding="utf-8")
    app = app_for(root)
    served = app.extensions["feeds"].current().served
    return app, "/r/" + sorted(served.pixels)[0]


def test_distinct_referers_are_capped_per_article_and_day(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported: 5,000 hits with distinct Referer hosts made 5,000 rows; at
    205,000 the desk was 23 MB, and a worker whose database refused writes
    kept every one in memory."""
    from feeds.outputs.pages import DESK_ORIGINS
    from feeds.state.pixels import ORIGINS_PER_DAY

    app, pixel = pixel_site(sample)
    client = app.test_client()
    hits = 5_000
    for number in range(hits):
        response = client.get(pixel, headers={"Referer": f"https://r{number}.example/page"})
        assert response.status_code == 200
    # What a worker holds while the database takes nothing: capped too.
    assert app.extensions["feeds.pixels"].pending() <= ORIGINS_PER_DAY + 1
    written(app)
    assert rows_of("hits") <= ORIGINS_PER_DAY + 1
    with sqlite3.connect(state_file()) as db:
        total, other = db.execute(
            "SELECT sum(hits), sum(CASE WHEN origin = 'other' THEN hits END) FROM hits"
        ).fetchone()
    assert total == hits and other == hits - ORIGINS_PER_DAY  # every hit counted once

    editor = add_partner("Night desk", partners.EDITOR)
    desk = client.get("/desk/", headers={"Authorization": f"Bearer {editor}"})
    assert desk.status_code == 200
    origins = desk.text.count("<tr><td>https://r") + desk.text.count("<tr><td>other<")
    assert origins == DESK_ORIGINS
    assert f"and {ORIGINS_PER_DAY + 1 - DESK_ORIGINS} more origins" in desk.text

    assert main(["partner", "republications", "--content", str(sample)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + AUDIT_LIMIT + 1  # the header, the rows, what was left out


#: Reported counted as republications: our own site and previews, spelled
#: otherwise; and a host no host can be, counted as "unknown".
NOT_COUNTED = [
    "http://127.0.0.1.:8000/articles/x/",
    "http://localhost./",
    "http://127.0.0.2/",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://preview.localhost:5000/",
    "https://WIRE.example.org./articles/x/",
    "http://0.0.0.0:8000/",
    "http://[::1]:8000/",
    "https://" + "a" * 300 + "/",
    "https://\x9b.example/",
]


def test_our_own_site_and_previews_are_not_counted_however_spelled(sample: Path) -> None:
    app, pixel = pixel_site(sample)
    client = app.test_client()
    counted = []
    for referer in NOT_COUNTED:
        assert client.get(pixel, headers={"Referer": referer}).status_code == 200
        written(app)
        if rows_of("hits"):
            counted.append(referer)
            with sqlite3.connect(state_file()) as db:
                db.execute("DELETE FROM hits")
    assert counted == []
    client.get(pixel, headers={"Referer": "http://3232235777/"})  # a partner's, spelled so
    written(app)
    with sqlite3.connect(state_file()) as db:
        assert db.execute("SELECT origin FROM hits").fetchall() == [("http://192.168.1.1",)]


# ------------------------------------------------------------ 4. did-you-mean's cost


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the did-you-mean comparisons: one per unknown value and choice."""
    import difflib

    counted = [0]
    close = difflib.get_close_matches

    def counting(word: str, choices: Any, *args: Any, **kwargs: Any) -> Any:
        choices = list(choices)
        counted[0] += len(choices)
        return close(word, choices, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    return counted


def newsroom(root: Path, authors: int = 306) -> None:
    for number in range(authors):
        write(root, f"authors/staff-writer-{number}.md", f"---\nname: Writer {number}\n---\nBio.\n")


def byline_of(count: int) -> str:
    ids = ", ".join(f"writer-{n}" for n in range(count))
    return f"---\ntitle: Many\ndate: 2026-10-01\nauthors: [{ids}]\n---\nText.\n"


def test_unknown_author_ids_get_a_hint_for_the_first_few_only(
    content: Path, comparisons: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported: 8,000 unknown author ids on a site of 306 authors took 48 s
    to check (each compared with every author) and delayed every edit."""
    from feeds.content.fields import HINTS

    newsroom(content)
    write(content, "articles/many.md", byline_of(100))
    assert main(["check", "--content", str(content)]) == 1
    lines = capsys.readouterr().out.splitlines()
    unknown = [line for line in lines if "unknown author" in line]
    assert len(unknown) == 100
    first = "articles/many.md:4: authors[1]: unknown author 'writer-0'"
    assert f"{first}; did you mean 'staff-writer-0'?" in unknown
    assert comparisons[0] <= HINTS * 308  # the first few ids, each against 308 authors
    assert len([line for line in unknown if "did you mean" in line or "known:" in line]) == HINTS
    assert sum(len(line) for line in lines) < 100 * 200  # not the 306 names each time


def test_a_byline_longer_than_the_cap_is_one_problem(
    content: Path, comparisons: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    from feeds.content.validate import MAX_AUTHORS

    newsroom(content)
    write(content, "articles/many.md", byline_of(8_000))
    assert main(["check", "--content", str(content)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"articles/many.md:4: authors: at most {MAX_AUTHORS} authors, got 8000" in lines
    assert not [line for line in lines if "unknown author" in line]
    assert comparisons[0] == 0


# ------------------------------------------------ 6. image names reach _headers


def test_image_names_that_would_inject_headers_are_refused(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported: an image named ``evil<LF>  X-Injected: yes.png`` passed
    `feeds check` and wrote a header line of the editor's choosing into
    ``_headers``; a name with the byte 0xFF ended `feeds build` in a
    UnicodeEncodeError traceback."""
    png = (sample / "images/bus-corridor.png").read_bytes()
    images = os.fsencode(sample / "images")
    for name in (b"evil\n  X-Injected: yes.png", b"bad\xff.png", b"rtl\xe2\x80\xae.png"):
        Path(os.fsdecode(images + b"/" + name)).write_bytes(png)
    assert main(["check", "--content", str(sample)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "images/bad\\udcff.png: file name is not valid UTF-8; rename the file" in lines
    injected = (
        "images/evil\\x0a  X-Injected: yes.png: file name contains U+000A, a character that is "
        "not printable (a line break, a control or format character); rename the file"
    )
    assert injected in lines
    assert any(
        line.startswith("images/rtl\\u202e.png: file name contains U+202E") for line in lines
    )

    out = tmp_path / "out"
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err and injected in printed.out.splitlines()
    headers = (out / "_headers").read_text(encoding="utf-8")
    assert "X-Injected" not in headers and "\\udcff" not in headers
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(
        p.name for p in (sample / "images").iterdir() if p.name.isascii() and "\n" not in p.name
    )


# ------------------------------------------------------------ 8. SVG with script


CLEAN_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>\n'
SCRIPTED = {
    "script.svg": '<svg xmlns="http://www.w3.org/2000/svg">\n<script>alert(1)</script></svg>',
    "handler.svg": '<svg xmlns="http://www.w3.org/2000/svg"\n  onload="alert(1)"><rect/></svg>',
    "link.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
        '\n<a x:href="java&#9;script:alert(1)"><rect/></a></svg>'
    ),
    "entity.svg": (
        '<!DOCTYPE svg [<!ENTITY e "javascript:alert(1)">]>\n'
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="&e;"><rect/></a></svg>'
    ),
    "html.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg">\n<foreignObject>'
        '<iframe xmlns="http://www.w3.org/1999/xhtml" src="/"/></foreignObject></svg>'
    ),
}
RULE = "an SVG may hold only a drawing's elements and attributes"


def test_an_svg_that_could_run_script_is_refused_and_not_exported(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported: `feeds check` passed an SVG with <script>, and `feeds
    deploy` uploaded it as image/svg+xml, where no CSP protects it."""
    write(sample, "images/chart.svg", CLEAN_SVG)
    for name, text in SCRIPTED.items():
        write(sample, f"images/{name}", text)
    assert main(["check", "--content", str(sample)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"images/script.svg:2: has a <script> element: {RULE}" in lines
    assert f"images/handler.svg:1: has an event handler, onload=: {RULE}" in lines
    assert (
        f"images/link.svg:2: has a reference in href= to 'java\\tscript:alert(1)': {RULE}" in lines
    )
    assert f"images/entity.svg:1: has a DOCTYPE (entities, an external DTD): {RULE}" in lines
    assert f"images/html.svg:2: has a <foreignObject> element: {RULE}" in lines
    assert not [line for line in lines if "chart.svg" in line]
    out = tmp_path / "out"
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 0
    exported = {p.name for p in (out / "images").iterdir()}
    assert "chart.svg" in exported and not exported & set(SCRIPTED)


#: A chart as drawing tools write it: an Inkscape file with RDF metadata,
#: gradients and clip paths referenced by fragment, a class stylesheet, a
#: reused symbol, an embedded PNG, text and a transform's animation.
DRAWING = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Created with Inkscape (http://www.inkscape.org/) -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
  xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
  xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
  xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://creativecommons.org/ns#"
  width="320" height="200" viewBox="0 0 320 200" version="1.1" role="img"
  aria-labelledby="t" sodipodi:docname="levels.svg" inkscape:version="1.3">
  <title id="t">Reservoir levels, 2024</title>
  <desc>Monthly levels of the Lima reservoirs.</desc>
  <metadata><rdf:RDF><cc:Work rdf:about=""><dc:format>image/svg+xml</dc:format>
  </cc:Work></rdf:RDF></metadata>
  <sodipodi:namedview id="view" pagecolor="#ffffff" inkscape:zoom="1"/>
  <defs>
    <style type="text/css"><![CDATA[ .bar { fill: url(#fade); stroke: #333; }
      text { font-family: "DejaVu Sans", sans-serif; font-size: 10px; } ]]></style>
    <linearGradient id="fade" x1="0" y1="0" x2="0" y2="1" gradientUnits="objectBoundingBox">
      <stop offset="0" stop-color="#2a6f97"/><stop offset="1" stop-color="#a9d6e5"/>
    </linearGradient>
    <clipPath id="plot"><rect x="30" y="10" width="280" height="160"/></clipPath>
    <symbol id="tick" viewBox="0 0 2 6"><line x1="1" y1="0" x2="1" y2="6"/></symbol>
    <filter id="soft"><feGaussianBlur in="SourceAlpha" stdDeviation="1" result="b"/>
      <feOffset in="b" dx="1" dy="1"/></filter>
  </defs>
  <g clip-path="url(#plot)" inkscape:label="bars" inkscape:groupmode="layer">
    <rect class="bar" x="40" y="60" width="20" height="110" filter="url(#soft)"/>
    <rect class="bar" x="70" y="40" width="20" height="130" style="opacity:0.9"/>
    <path d="M30 170 H310" stroke="#000" stroke-width="1" marker-end="url(#tick)"/>
  </g>
  <use xlink:href="#tick" x="40" y="170" width="2" height="6"/>
  <use href="#tick" x="70" y="170" width="2" height="6"/>
  <image x="290" y="0" width="1" height="1" preserveAspectRatio="none"
    xlink:href="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="/>
  <text x="160" y="190" text-anchor="middle" xml:space="preserve">2024 <tspan
    font-weight="bold">Lima</tspan></text>
  <g transform="rotate(0 10 10)"><animateTransform attributeName="transform"
    type="rotate" from="0 10 10" to="360 10 10" dur="10s" repeatCount="indefinite"/></g>
</svg>
"""

#: What a blocklist let through (each passed `feeds check` before the
#: allowlist): script by another road, and references that make a viewer
#: fetch from elsewhere.
ESCAPES = {
    "set.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg"><a id="l">\n<set attributeName="href" '
        'to="javascript:alert(1)"/><rect width="9" height="9"/></a></svg>',
        "images/set.svg:2: has a <set> element",
    ),
    "xhtml.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:h="http://www.w3.org/1999/xhtml">\n'
        "<h:script>alert(1)</h:script></svg>",
        "images/xhtml.svg:2: has a <script> element in namespace http://www.w3.org/1999/xhtml",
    ),
    "tracker.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg">\n'
        '<image href="https://tracker.example/p.png" width="1" height="1"/></svg>',
        "images/tracker.svg:2: has a reference in href= to 'https://tracker.example/p.png'",
    ),
    "sprite.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg">\n<use href="other.svg#a"/></svg>',
        "images/sprite.svg:2: has a reference in href= to 'other.svg#a'",
    ),
    "import.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg"><style>\n'
        '@import "https://evil.example/x.css";</style></svg>',
        "images/import.svg:2: has an @import in a <style>",
    ),
    "cssurl.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg">\n'
        '<rect style="fill: url(https://evil.example/p.svg#g)"/></svg>',
        "images/cssurl.svg:2: has a reference to 'https://evil.example/p.svg#g' in style=",
    ),
    "filter.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg">\n'
        '<rect filter="url(//evil.example/f.svg#f)"/></svg>',
        "images/filter.svg:2: has a reference to '//evil.example/f.svg#f' in filter=",
    ),
    "stylesheet.svg": (
        '<?xml-stylesheet href="https://evil.example/x.css"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg"/>',
        "images/stylesheet.svg:1: has a processing instruction <?xml-stylesheet?>",
    ),
    "laughs.svg": (
        '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>',
        "images/laughs.svg:2: has a DOCTYPE (entities, an external DTD)",
    ),
    "base.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg">\n<g xml:base="https://evil.example/">'
        "<rect/></g></svg>",
        "images/base.svg:2: has a {http://www.w3.org/XML/1998/namespace}base= attribute on <g>",
    ),
    "html.svg": (
        '<html xmlns="http://www.w3.org/1999/xhtml"><body onload="alert(1)"/></html>',
        "images/html.svg:1: has <html> as its root, not an SVG <svg> element",
    ),
}


def test_an_svg_is_checked_against_an_allowlist(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check was a blocklist: an element or attribute it did not name
    passed. Only a drawing's SVG elements and attributes pass now, every
    refusal naming the file, the line and what was refused."""
    write(sample, "images/levels.svg", DRAWING)
    write(sample, "images/chart.svg", CLEAN_SVG)
    for name, (text, _) in ESCAPES.items():
        write(sample, f"images/{name}", text)
    assert main(["check", "--content", str(sample)]) == 1
    lines = capsys.readouterr().out.splitlines()
    for _, message in ESCAPES.values():
        assert f"{message}: {RULE}" in lines
    assert not [line for line in lines if "levels.svg" in line or "chart.svg" in line]
    out = tmp_path / "out"
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 0
    exported = {p.name for p in (out / "images").iterdir()}
    assert {"levels.svg", "chart.svg"} <= exported and not exported & set(ESCAPES)


# ---------------------------------------- 7. an IDN base_url or a non-ASCII hub in Link

IDN_BASE = "https://新闻.example/"
IDN_HUB = "https://hub.example/ĉ/"
LINK = re.compile(r'<([^>]*)>; rel="hub", <([^>]*)>; rel="self"')


def idn_site(root: Path) -> None:
    toml = root / "site.toml"
    text = toml.read_text(encoding="utf-8").replace("https://wire.example.org/", IDN_BASE)
    text = re.sub(r"(?m)^hub = .*\n", "", text)
    toml.write_text(f'{text}\nhub = "{IDN_HUB}"\n', encoding="utf-8")


def assert_link_is_uris(link: str, path: str) -> None:
    found = LINK.fullmatch(link)
    assert found is not None, link
    assert link.isascii(), link  # a header value: Latin-1 at most, URIs by RFC 8288
    assert found[1] == "https://hub.example/%C4%89/"
    assert found[2] == f"https://xn--efvy88h.example/{path}"
    assert b"xn--efvy88h".decode("idna") == "新闻"


def test_an_idn_base_url_and_a_non_ascii_hub_give_uris_in_link(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported: with ``base_url = "https://新闻.example/"`` and a hub (or a
    hub URL with ``ĉ``), every feed answered 500 under gunicorn (``Invalid
    response header ... 'Link'``), and the export's _headers carried the IRI."""
    idn_site(sample)
    assert main(["check", "--content", str(sample)]) == 0
    client = app_for(sample).test_client()
    for path in ("rss.xml", "atom.xml", "feed.json", "tags/bolivia/rss.xml"):
        response = client.get("/" + path)
        assert response.status_code == 200, path
        assert_link_is_uris(response.headers["Link"], path)
    out = tmp_path / "out"
    build(sample, out, NOW)  # (`feeds build` would ping the hub from a child process)
    headers = (out / "_headers").read_bytes()
    assert headers.isascii()
    assert b"<https://xn--efvy88h.example/rss.xml>" in headers


def test_a_host_idna_cannot_write_is_a_located_error(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = sample / "site.toml"
    text = re.sub(r"(?m)^hub = .*\n", "", toml.read_text(encoding="utf-8"))
    toml.write_text(text + f'\nhub = "https://{"ĉ" * 70}.example/"\n', encoding="utf-8")
    assert main(["check", "--content", str(sample)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(
        re.fullmatch(r"site\.toml:\d+: hub: cannot be written as a URI for HTTP headers: .*", x)
        for x in lines
    ), lines


@pytest.mark.slow  # gunicorn
def test_under_gunicorn_feeds_of_an_idn_site_answer_200(sample: Path) -> None:
    import urllib.request

    from conftest import free_port, gunicorn

    idn_site(sample)
    port = free_port()
    with gunicorn(sample, port, sample.parent / "cache.sqlite") as base:
        for path in ("rss.xml", "atom.xml", "feed.json"):
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200
                assert_link_is_uris(response.headers["Link"], path)


# ------------------------------------------------------ 14. every number is bounded


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("early_access_days = 3000000", "early_access_days: must be at most 366, got 3000000"),
        ("cache_max_age = 10000000000000", "cache_max_age: must be at most 31536000, got"),
        ("max_article_bytes = 10000000000000", "max_article_bytes: must be at most 50000000"),
    ],
)
def test_a_huge_number_in_site_toml_is_a_located_error(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, message: str
) -> None:
    """Reported: ``early_access_days = 3000000`` ended check and build in an
    OverflowError and kept gunicorn from booting, instead of the 503 page."""
    key = setting.split(" ")[0]
    toml = sample / "site.toml"
    text = re.sub(rf"(?m)^{key} = .*\n", "", toml.read_text(encoding="utf-8"))
    toml.write_text(f"{text}\n{setting}\n", encoding="utf-8")
    assert main(["check", "--content", str(sample)]) == 1
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    assert any(
        re.match(rf"site\.toml:\d+: {re.escape(message)}", x) for x in printed.out.splitlines()
    )
    assert main(["build", "--content", str(sample), "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()
    assert app_for(sample).test_client().get("/").status_code == 503


# ------------------------------------------------------------ 11. the token's field


def test_a_token_sent_as_the_basic_user_name_is_accepted(sample: Path) -> None:
    """Reported: ``curl -u "$TOKEN:"`` got 401, and gunicorn's default access
    log (``%(u)s``) wrote the whole token, secret included."""
    import base64

    token = add_partner("La Prensa")
    client = app_for(sample).test_client()
    for credentials in (f"{token}:", f"{token}:x", f"newsroom:{token}"):
        basic = base64.b64encode(credentials.encode()).decode()
        response = client.get("/partners/rss.xml", headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == 200, credentials


# ---------------------------------------------- 12. the client behind a trusted proxy


def audited_clients() -> list[str]:
    """The clients the audit names, whichever table holds them."""
    found = []
    with sqlite3.connect(state_file()) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in ("audit", "refusals"):
            if table in tables:
                found += [row[0] for row in db.execute(f"SELECT DISTINCT client FROM {table}")]
    return sorted(found)


def test_behind_a_trusted_proxy_the_audit_names_the_forwarded_client(sample: Path) -> None:
    """Reported: behind the documented Varnish every audit row said 127.0.0.1."""
    app = app_for(sample, TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
    client = app.test_client()
    sent = [
        ("127.0.0.1", "203.0.113.7"),  # Varnish in front
        ("127.0.0.1", "198.51.100.1, 203.0.113.8, 10.1.2.3"),  # a client's own entry, two hops
        ("192.0.2.9", "203.0.113.9"),  # not a proxy of ours: its header is the client's
        ("127.0.0.1", "not-an-address, 10.0.0.5"),
    ]
    for remote, forwarded in sent:
        client.get(
            "/partners/rss.xml",
            headers={"X-Forwarded-For": forwarded},
            environ_base={"REMOTE_ADDR": remote},
        )
    written(app)
    assert audited_clients() == ["10.0.0.5", "192.0.2.9", "203.0.113.7", "203.0.113.8"]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(sample: Path) -> None:
    app = app_for(sample)
    app.test_client().get("/partners/rss.xml", headers={"X-Forwarded-For": "203.0.113.7"})
    written(app)
    assert audited_clients() == ["127.0.0.1"]


# ---------------------------------------------------- 13, 15. redirects and the 401


def test_the_desk_redirect_is_built_from_base_url_not_host(sample: Path) -> None:
    """Reported: ``Host: evil.example`` gave ``Location: http://evil.example/desk/``."""
    client = app_for(sample).test_client()
    for path in ("/desk", "/partners"):
        response = client.get(
            path, headers={"Host": "evil.example", "X-Forwarded-Proto": "javascript"}
        )
        assert response.status_code == 308
        assert response.headers["Location"] == f"https://wire.example.org{path}/"


def test_partners_index_without_a_token_is_401(sample: Path) -> None:
    """Reported: ``/partners/`` answered 404 without a token, not the documented 401."""
    response = app_for(sample).test_client().get("/partners/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_a_partner_whose_token_expired_already_is_not_added(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported: `partner add` with a past --expires printed a token that
    could never work, without a word."""
    code = main(["partner", "add", "Late", "--expires", "2020-01-01", "--content", str(sample)])
    printed = capsys.readouterr()
    assert code == 1 and "fp_" not in printed.out
    # (after the line naming the state database, which every partner command prints)
    assert printed.err.splitlines()[-1].startswith(
        "feeds partner: --expires 2020-01-01 is not in the future"
    )
    assert main(["partner", "list", "--content", str(sample)]) == 0
    assert "Late" not in capsys.readouterr().out


def test_printed_text_cannot_return_the_carriage_but_a_progress_bar_can() -> None:
    """A carriage return from outside would let a row overwrite the one
    before it; the command's own progress bar draws with one."""
    import io

    from feeds.cli import transfer_bar
    from feeds.terminal import Visible

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    shown = Visible(screen)
    shown.write("401 no token\r200 ok forged\n")
    show = transfer_bar(shown)  # type: ignore[arg-type]
    assert show is not None
    show(1, 1, 10, 10)
    assert screen.getvalue().startswith("401 no token\\x0d200 ok forged\n\r[")
