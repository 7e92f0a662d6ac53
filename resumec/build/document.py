"""Stage 4: résumé data + theme → DOCX bytes.

Templates render markup (render.py), markup becomes blocks (markup.py), and
blocks become paragraphs in named styles (styles.py). The result is
reproducible: the same inputs give byte-identical files, so the cache key and
the output agree and a rebuild never shows up as a change.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Mapping
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from resumec.build.markup import Block, MarkupError, Run, parse
from resumec.build.render import make_environment, render
from resumec.build.styles import HYPERLINK_STYLE, StyleMap, apply_theme
from resumec.build.text import has_content, xml_text
from resumec.errors import InputError
from resumec.theme import Theme, localized

HEADER_TEMPLATE = "header.xml.j2"
_ZIP_MIN = (1980, 1, 1, 0, 0, 0)
_ZIP_MAX = (2107, 12, 31, 23, 59, 58)


def build_docx(
    data: dict,
    theme: Theme,
    sections: list[tuple[str, str]],
    *,
    base_dir: Path | None = None,
    epoch: int = 315532800,
    lang: str | None = None,
    paper: str | None = None,
) -> bytes:
    """Render the résumé with the theme; `sections` are (key, title) pairs in order.

    `lang` picks a [locales.<lang>] overlay (dates, labels) and the document
    language; `paper` ("a4"/"letter") overrides the theme's page size.
    `base_dir` is where relative paths in the résumé (a later photo feature) resolve.
    """
    del base_dir  # reserved for basics.image
    config = localized(theme.config, lang)
    env = make_environment(theme, config)
    basics = data.get("basics") if isinstance(data.get("basics"), Mapping) else {}
    titles = {**config.get("titles", {}), **theme_titles(theme, config)}
    common = {
        "resume": data,
        "basics": basics,
        "titles": titles,
        "labels": config.get("labels", {}),
        "theme": config,
    }

    blocks: list[Block] = _blocks(env, theme, HEADER_TEMPLATE, common)
    for key, title in sections:
        items = data.get(key)
        if not isinstance(items, list):
            continue
        items = [item for item in items if has_content(item)]
        if not items:
            continue
        context = {**common, "section": key, "title": title, "items": items}
        blocks += _blocks(env, theme, f"{key}.xml.j2", context)

    document = docx.Document()
    doc_lang = lang or config.get("theme", {}).get("lang", "en-US")
    style_map = apply_theme(document, config, paper=paper, lang=doc_lang)
    for block in blocks:
        _write_block(document, block, style_map, theme)
    _core_properties(document, data, basics, epoch)
    raw = io.BytesIO()
    document.save(raw)
    return _normalize_zip(raw.getvalue(), epoch)


def theme_titles(theme: Theme, config: Mapping[str, Any]) -> dict[str, str]:
    """Section titles after the locale overlay (every section key present)."""
    given = config.get("titles", {})
    return {key: given.get(key, default) for key, default in theme.titles.items()}


def _blocks(env, theme: Theme, name: str, context: Mapping[str, Any]) -> list[Block]:
    markup = render(env, theme, name, context)
    try:
        return parse(markup)
    except MarkupError as exc:
        shown = theme.display(_template_path(theme, name))
        where = f" (line {exc.line} of its output)" if exc.line else ""
        raise InputError(f"{shown}: {exc}{where}") from None


def _template_path(theme: Theme, name: str) -> Path:
    for root in theme.search_path or (theme.root,):
        candidate = root / "templates" / name
        if candidate.is_file():
            return candidate
    return theme.root / "templates" / name


# --- writing paragraphs -----------------------------------------------------------


def _write_block(document, block: Block, style_map: StyleMap, theme: Theme) -> None:
    style_id = style_map.paragraph.get(block.style)
    if style_id is None:
        raise InputError(
            f"theme {theme.name!r}: a template uses paragraph style {block.style!r}, "
            f"which neither its theme.toml [styles] nor Word's defaults define"
        )
    paragraph = document.add_paragraph()
    p = paragraph._p
    ppr = p.get_or_add_pPr()
    ppr.insert(0, _w("w:pStyle", val=style_id))
    hyperlink_id = style_map.character.get(HYPERLINK_STYLE)
    current_link = None
    current_href = None
    for run in block.runs:
        if run.href is None:
            current_link = current_href = None
            p.append(_run(run, _char_style(run, style_map, theme)))
            continue
        if run.href != current_href:
            r_id = document.part.relate_to(run.href, RT.HYPERLINK, is_external=True)
            current_link = OxmlElement("w:hyperlink")
            current_link.set(qn("r:id"), r_id)
            current_link.set(qn("w:history"), "1")
            p.append(current_link)
            current_href = run.href
        current_link.append(_run(run, hyperlink_id))


def _char_style(run: Run, style_map: StyleMap, theme: Theme) -> str | None:
    if run.style is None:
        return None
    style_id = style_map.character.get(run.style)
    if style_id is None:
        raise InputError(
            f"theme {theme.name!r}: a template uses character style {run.style!r} in <span>, "
            f"which its theme.toml does not define (add [styles.\"{run.style}\"] with type = \"character\")"
        )
    return style_id


def _run(run: Run, style_id: str | None):
    r = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    if style_id:
        rpr.append(_w("w:rStyle", val=style_id))
    if run.bold:
        rpr.append(OxmlElement("w:b"))
        rpr.append(OxmlElement("w:bCs"))
    if run.italic:
        rpr.append(OxmlElement("w:i"))
        rpr.append(OxmlElement("w:iCs"))
    if run.underline:
        rpr.append(_w("w:u", val="single"))
    if len(rpr):
        r.append(rpr)
    if run.kind == "tab":
        r.append(OxmlElement("w:tab"))
    elif run.kind == "br":
        r.append(OxmlElement("w:br"))
    else:
        t = OxmlElement("w:t")
        t.text = run.text
        t.set(qn("xml:space"), "preserve")
        r.append(t)
    return r


def _w(tag: str, **attrs: str):
    element = OxmlElement(tag)
    for key, value in attrs.items():
        element.set(qn(f"w:{key}"), value)
    return element


# --- reproducibility -----------------------------------------------------------------


def _core_properties(document, data: Mapping[str, Any], basics: Mapping[str, Any], epoch: int) -> None:
    """Pin every core property; python-docx would otherwise stamp the current time."""
    name = _plain(basics.get("name"))
    when = datetime.fromtimestamp(max(0, epoch), tz=UTC).replace(tzinfo=None)
    props = document.core_properties
    props.title = _fit(f"{name} – Résumé" if name else "Résumé")
    props.author = _fit(name)
    props.last_modified_by = _fit(name)
    props.subject = _fit(_plain(basics.get("label")))
    props.keywords = _fit_list(_skill_keywords(data))
    props.comments = ""
    props.category = ""
    props.revision = 1
    props.created = when
    props.modified = when
    props.last_printed = when


def _skill_keywords(data: Mapping[str, Any]) -> list[str]:
    """Skill keywords (or the skill's name when it has none), each once."""
    seen: dict[str, None] = {}
    skills = data.get("skills")
    for skill in skills if isinstance(skills, list) else []:
        if not isinstance(skill, Mapping):
            continue
        keywords = skill.get("keywords")
        words = list(keywords) if isinstance(keywords, list) and keywords else [skill.get("name")]
        for word in words:
            text = _plain(word)
            if text and text.lower() not in {k.lower() for k in seen}:
                seen[text] = None
    return list(seen)


_CORE_LIMIT = 255  # python-docx (and Word) cap core text properties at 255 characters


def _fit(text: str) -> str:
    return text if len(text) <= _CORE_LIMIT else text[: _CORE_LIMIT - 1].rstrip() + "…"


def _fit_list(words: list[str]) -> str:
    """Join whole keywords while they fit the limit."""
    out = ""
    for word in words:
        candidate = f"{out}, {word}" if out else word
        if len(candidate) > _CORE_LIMIT:
            break
        out = candidate
    return out


def _plain(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return " ".join(xml_text(value).split())


def _normalize_zip(blob: bytes, epoch: int) -> bytes:
    """Rewrite the package with fixed timestamps, attributes and entry order."""
    stamp = time.gmtime(max(0, epoch))[:6]
    stamp = max(_ZIP_MIN, min(_ZIP_MAX, stamp))
    with zipfile.ZipFile(io.BytesIO(blob)) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    first = [n for n in ("[Content_Types].xml", "_rels/.rels") if n in entries]
    order = first + sorted(n for n in entries if n not in first)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            target.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()
