"""The licences an article may carry: SPDX id to name, label and deed URL."""

from __future__ import annotations

from feeds.model import License


def _cc(spdx: str, code: str, words: str) -> License:
    return License(
        id=spdx,
        name=f"Creative Commons {words} 4.0 International",
        label=f"CC {code.upper()} 4.0",
        url=f"https://creativecommons.org/licenses/{code}/4.0/",
    )


LICENSES: dict[str, License] = {
    lic.id: lic
    for lic in (
        _cc("CC-BY-4.0", "by", "Attribution"),
        _cc("CC-BY-SA-4.0", "by-sa", "Attribution-ShareAlike"),
        _cc("CC-BY-ND-4.0", "by-nd", "Attribution-NoDerivatives"),
        _cc("CC-BY-NC-4.0", "by-nc", "Attribution-NonCommercial"),
        _cc("CC-BY-NC-SA-4.0", "by-nc-sa", "Attribution-NonCommercial-ShareAlike"),
        _cc("CC-BY-NC-ND-4.0", "by-nc-nd", "Attribution-NonCommercial-NoDerivatives"),
        License(
            id="CC0-1.0",
            name="CC0 1.0 Universal (public domain dedication)",
            label="CC0 1.0",
            url="https://creativecommons.org/publicdomain/zero/1.0/",
        ),
        License(
            id="all-rights-reserved",
            name="All rights reserved",
            label="All rights reserved",
            url=None,
        ),
    )
}
