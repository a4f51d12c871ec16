"""Generate a realistic content directory of N articles for benchmarks.

Each article is about 1,000 words of Markdown with headings, lists, a quote,
links (absolute and relative) and a body image; it has a lead image with
caption and credit, one to three authors from a pool and two to five tags
from a pool where a few tags are common and most are rare, as in a real
archive. The output depends only on N and the seed.
"""

from __future__ import annotations

import argparse
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = (
    "water city river council budget report minister drought rain tariff pipe well "
    "village market school clinic worker union wage contract mine copper glacier reef "
    "forest road bus lane flood storm heat season harvest price study data survey court "
    "law community family neighbour engineer doctor nurse teacher farmer driver mayor "
    "province region coast valley desert mountain basin reservoir canal pump meter bill "
    "the a of and to in on for with from by at as that this which while after before "
    "said says told according last next first new old small large public private local "
    "national across under over between during against about more less many few most"
).split()

AUTHORS = 60
TAGS = 400
IMAGE = bytes.fromhex(  # a 1x1 PNG (grey, 8 bits), one that decodes
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c636000000002000148afa4710000000049454e44ae426082"
)


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, slugs: list[str]) -> str:
    parts = [sentence(rng, rng.randint(8, 22)) for _ in range(rng.randint(3, 6))]
    if rng.random() < 0.5:
        parts.insert(1, f"See [an earlier report](/articles/{rng.choice(slugs)}/) for details.")
    if rng.random() < 0.3:
        parts.append("The [full data](https://data.example.org/sets/water.csv) is public.")
    if rng.random() < 0.2:
        parts.append("More in [the archive](../../tags/tag-1/).")
    return " ".join(parts)


def body(rng: random.Random, slugs: list[str]) -> str:
    blocks: list[str] = []
    words = 0
    while words < 1000:
        choice = rng.random()
        if choice < 0.1:
            blocks.append("## " + sentence(rng, 5).rstrip("."))
        elif choice < 0.18:
            blocks.append("\n".join(f"- {sentence(rng, rng.randint(5, 12))}" for _ in range(4)))
        elif choice < 0.22:
            blocks.append("> " + sentence(rng, 18))
        elif choice < 0.24:
            blocks.append("![A chart of the figures](/images/chart.png)")
        else:
            blocks.append(paragraph(rng, slugs))
        words += len(blocks[-1].split())
    return "\n\n".join(blocks) + "\n"


def tag_names(rng: random.Random) -> list[str]:
    # A few tags are on many articles, most on few: a Zipf-like pick.
    count = rng.randint(2, 5)
    return sorted({f"Tag {int(rng.paretovariate(1.1)) % TAGS}" for _ in range(count)})


def generate(out: Path, count: int, seed: int = 1) -> Path:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "articles").mkdir(parents=True)
    (out / "authors").mkdir()
    (out / "images").mkdir()
    (out / "site.toml").write_text(
        'title = "Benchmark Wire"\ndescription = "A generated archive."\n'
        'base_url = "https://bench.example.org/"\nlanguage = "en"\n'
        'timezone = "America/Lima"\nlicense = "CC-BY-4.0"\n',
        encoding="utf-8",
    )
    for number in range(AUTHORS):
        (out / "authors" / f"author-{number}.md").write_text(
            f"---\nname: Author {number}\nurl: https://bench.example.org/people/{number}/\n---\n"
            f"{sentence(rng, 20)} [More](https://example.org/{number}).\n",
            encoding="utf-8",
        )
    for name in ("lead.png", "chart.png"):
        (out / "images" / name).write_bytes(IMAGE)
    slugs = [f"story-{n:06}" for n in range(count)]
    start = datetime(2016, 1, 1, tzinfo=UTC)
    for number, slug in enumerate(slugs):
        write_story(out, slug, start + timedelta(minutes=number * 29), rng, slugs)
    return out


def write_story(
    out: Path, slug: str, date: datetime, rng: random.Random, slugs: list[str], title: str = ""
) -> Path:
    """One article of the corpus, ``articles/<slug>.md``: its title is ``title``
    or a random one."""
    authors = ", ".join(f"author-{a}" for a in rng.sample(range(AUTHORS), rng.randint(1, 3)))
    tags = ", ".join(f'"{t}"' for t in tag_names(rng))
    front = (
        f'---\ntitle: "{title or sentence(rng, 9).rstrip(".")}"\n'
        f"date: {date.isoformat()}\nauthors: [{authors}]\ntags: [{tags}]\n"
        f"section: {rng.choice(['Reporting', 'Opinion', 'Analysis'])}\n"
        "image:\n  src: /images/lead.png\n  alt: A lead image\n"
        "  caption: A caption that says what the picture shows.\n  credit: Staff photographer\n"
        "---\n"
    )
    path = out / "articles" / f"{slug}.md"
    path.write_text(front + body(rng, slugs), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    generate(args.out, args.count)
    print(f"wrote {args.count} articles to {args.out}")


if __name__ == "__main__":
    main()
