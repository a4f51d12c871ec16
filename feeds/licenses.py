"""The licences an article may carry: SPDX id to name, label and deed URL.

A licence's name is English here; pages and feeds show it in their words
(``words(licence.name)``): the names are marked for the catalogues with
:func:`N_` (``pybabel extract -k N_``, see the README: Translations).
"""

from __future__ import annotations

from feeds.model import License


def N_(message: str) -> str:  # gettext's usual name for "mark, translate where shown"
    """``message`` as it is, marked for the catalogues."""
    return message


def _cc(spdx: str, code: str, name: str) -> License:
    return License(
        id=spdx,
        name=name,
        label=f"CC {code.upper()} 4.0",
        url=f"https://creativecommons.org/licenses/{code}/4.0/",
    )


LICENSES: dict[str, License] = {
    lic.id: lic
    for lic in (
        _cc("CC-BY-4.0", "by", N_("Creative Commons Attribution 4.0 International")),
        _cc(
            "CC-BY-SA-4.0",
            "by-sa",
            N_("Creative Commons Attribution-ShareAlike 4.0 International"),
        ),
        _cc(
            "CC-BY-ND-4.0",
            "by-nd",
            N_("Creative Commons Attribution-NoDerivatives 4.0 International"),
        ),
        _cc(
            "CC-BY-NC-4.0",
            "by-nc",
            N_("Creative Commons Attribution-NonCommercial 4.0 International"),
        ),
        _cc(
            "CC-BY-NC-SA-4.0",
            "by-nc-sa",
            N_("Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International"),
        ),
        _cc(
            "CC-BY-NC-ND-4.0",
            "by-nc-nd",
            N_("Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 International"),
        ),
        License(
            id="CC0-1.0",
            name=N_("CC0 1.0 Universal (public domain dedication)"),
            label="CC0 1.0",
            url="https://creativecommons.org/publicdomain/zero/1.0/",
        ),
        License(
            id="all-rights-reserved",
            name=N_("All rights reserved"),
            label="All rights reserved",
            url=None,
        ),
    )
}
