"""Jinja2 for the HTML outputs: the report and the brief load their templates the same way."""

from __future__ import annotations

import jinja2


def environment(package: str) -> jinja2.Environment:
    """Templates of ``package``'s ``templates`` folder: autoescaped, strict about undefined
    names, block whitespace trimmed."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
