"""Which sections appear, in what order, under which titles.

The order comes from `--sections`, else `meta.sections` in the résumé, else the
theme. Every form uses the same syntax, `key` or `key=Title`, so a user can
rename a heading wherever they choose the order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from resumec.errors import InputError, Problem, UsageError
from resumec.schema import SECTIONS

# The JSON Resume list sections, in the schema's order (basics and meta are not sections).
SECTION_KEYS: tuple[str, ...] = SECTIONS


def parse_spec(items: Iterable[str]) -> list[tuple[str, str | None]]:
    """Split `key=Title` items; raises ValueError with a did-you-mean hint."""
    result: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        key, sep, title = item.partition("=")
        key = key.strip()
        if key not in SECTION_KEYS:
            raise ValueError(_unknown(key))
        if key in seen:
            raise ValueError(f"section {key!r} is listed twice")
        seen.add(key)
        title = title.strip() if sep else None
        if sep and not title:
            raise ValueError(f"section {key!r}: empty title after '='")
        result.append((key, title))
    return result


def _unknown(key: str) -> str:
    if key == "basics":
        return "'basics' is always the header; leave it out of the section list"
    import difflib  # only when reporting an error

    close = difflib.get_close_matches(key, SECTION_KEYS, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown section {key!r}{hint} (valid: {', '.join(SECTION_KEYS)})"


def from_meta(data: Mapping, source_name: str = "<resume>", locate=None) -> list[tuple[str, str | None]] | None:
    """The résumé's own `meta.sections` list, checked; None when it has none.

    `resumec validate` calls this too, so a name that would fail the compile
    fails validation, at the same FILE:LINE:COL.
    """
    meta = data.get("meta") if isinstance(data, Mapping) else None
    listed = meta.get("sections") if isinstance(meta, Mapping) else None
    if not isinstance(listed, list):
        return None
    spec: list[tuple[str, str | None]] = []
    for index, item in enumerate(listed):
        try:
            spec.extend(parse_spec([item]))
            if len({key for key, _ in spec}) < len(spec):
                raise ValueError(f"section {spec[-1][0]!r} is listed twice")
        except ValueError as exc:
            path = ("meta", "sections", index)
            line, col = locate(path) if locate is not None else (None, None)
            raise InputError(Problem(str(exc), source_name, line, col, path)) from None
    return spec


def resolve(
    flag: str | None,
    data: Mapping,
    default_order: Iterable[str],
    titles: Mapping[str, str],
    source_name: str = "<resume>",
    locate=None,
) -> list[tuple[str, str]]:
    """Return the (key, title) pairs to render, in order."""
    if flag is not None:
        try:
            spec = parse_spec(flag.split(","))
        except ValueError as exc:
            raise UsageError(f"--sections: {exc}") from None
    else:
        spec = from_meta(data, source_name, locate)
        if spec is None:
            spec = [(key, None) for key in default_order]
    return [(key, title or titles.get(key, key.capitalize())) for key, title in spec]
