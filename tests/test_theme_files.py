"""Theme discovery, theme.toml validation and fingerprints (resumec/theme.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from resumec.entries import SHAPES
from resumec.errors import InputError
from resumec.theme import (
    BASE_THEME,
    BUILTIN_DIR,
    SECTION_KEYS,
    builtin_themes,
    length_pt,
    load_theme,
    localized,
    titles_for,
)

CLASSIC = BUILTIN_DIR / "classic"


@pytest.fixture
def theme_copy(tmp_path: Path) -> Path:
    """A writable copy of classic, to break in different ways."""
    target = tmp_path / "mytheme"
    shutil.copytree(CLASSIC, target)
    return target


def write_toml(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "theme.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


# --- built-in themes ---------------------------------------------------------------


def test_classic_loads_with_every_section_and_title():
    theme = load_theme("classic")
    assert theme.name == "classic"
    assert theme.root.resolve() == CLASSIC.resolve()
    assert sorted(theme.sections) == sorted(SECTION_KEYS)
    assert theme.sections[0] == "work"
    assert set(theme.titles) == set(SECTION_KEYS)
    assert theme.titles["work"] == "Experience"
    assert all(isinstance(v, str) and v for v in theme.titles.values())
    assert len(theme.fingerprint) == 64 and int(theme.fingerprint, 16) >= 0
    assert theme.config["page"]["size"] == "a4"


def test_builtin_themes_lists_classic_with_a_description():
    themes = dict(builtin_themes())
    assert "classic" in themes
    assert themes["classic"].strip()
    assert "\n" not in themes["classic"]


def test_unknown_builtin_lists_available_names():
    with pytest.raises(InputError) as info:
        load_theme("fancy")
    assert "unknown theme 'fancy'" in info.value.message
    assert "classic" in info.value.message
    assert info.value.exit_code == 1


def test_missing_folder_path():
    with pytest.raises(InputError, match="does not exist"):
        load_theme("./no/such/theme")


def test_theme_module_does_not_import_jinja2_or_docx():
    code = (
        "import sys; from resumec.theme import load_theme; load_theme('classic'); "
        "bad = [m for m in ('jinja2', 'docx', 'lxml', 'markupsafe') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- fingerprints ------------------------------------------------------------------


def test_fingerprint_is_content_based(theme_copy: Path):
    classic = load_theme("classic")
    copy = load_theme(str(theme_copy))
    assert copy.fingerprint == classic.fingerprint  # same bytes, different place
    assert load_theme(str(theme_copy)).fingerprint == copy.fingerprint  # stable

    template = theme_copy / "templates" / "work.xml.j2"  # classic has none of its own: add one
    template.parent.mkdir()
    template.write_text("<p>{{ title }}</p>\n", encoding="utf-8")
    overridden = load_theme(str(theme_copy)).fingerprint
    assert overridden != copy.fingerprint
    template.write_text("<p>{{ title }}</p>\n\n", encoding="utf-8")
    edited = load_theme(str(theme_copy)).fingerprint
    assert edited != overridden

    (theme_copy / "templates" / "extra.xml.j2").write_text("", encoding="utf-8")
    added = load_theme(str(theme_copy)).fingerprint
    assert added != edited

    (theme_copy / "templates" / "extra.xml.j2").rename(theme_copy / "templates" / "other.xml.j2")
    assert load_theme(str(theme_copy)).fingerprint != added


def test_path_theme_name_and_relative_spec(theme_copy: Path, monkeypatch):
    monkeypatch.chdir(theme_copy.parent)
    theme = load_theme("./mytheme")
    assert theme.name == "classic"  # from [theme] name
    assert theme.display(theme.root / "theme.toml") == "./mytheme/theme.toml"


# --- errors name the file ------------------------------------------------------------


def test_bad_toml_reports_file_line_and_column(tmp_path: Path):
    folder = tmp_path / "broken"
    write_toml(folder, '[theme]\nname = "x"\ndescription = \n')
    with pytest.raises(InputError) as info:
        load_theme(str(folder))
    message = info.value.message
    assert message.startswith(f"{folder}/theme.toml:3:")
    assert "Invalid value" in message


def test_builtin_style_path_in_messages(tmp_path: Path, monkeypatch):
    folder = write_toml(tmp_path / "x", "[page]\nsize = 'a5'\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        load_theme("./x")
    assert info.value.message == "./x/theme.toml: invalid theme"
    assert any("size must be one of 'a4', 'letter'" in d for d in info.value.details)
    assert info.value.details == ["./x/theme.toml:2: [page] size must be one of 'a4', 'letter', got 'a5'"]
    assert folder.is_dir()


def test_missing_theme_toml(tmp_path: Path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(InputError) as info:
        load_theme(str(folder))
    assert "theme.toml" in info.value.message
    assert "missing" in info.value.message


def test_not_utf8(tmp_path: Path):
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / "theme.toml").write_bytes(b'[theme]\nname = "caf\xe9"\n')
    with pytest.raises(InputError, match=r"theme.toml:2: not valid UTF-8"):
        load_theme(str(folder))


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[page]\nmargins = { top = '2 furlongs' }\n", "[page] margins.top"),
        ("[colors]\naccent = 'blue'\n", "[colors] accent must be a hex colour"),
        ("[fonts]\nbody = 3\n", "[fonts] body must be a font family name"),
        ("[sections]\norder = ['work', 'hobbies']\n", "unknown section 'hobbies'"),
        ("[sections]\norder = ['work', 'work']\n", "lists a section twice"),
        ("[titles]\nwork = 5\n", "[titles] work must be a string"),
        ("[dates]\nmonths = ['Jan']\n", "list of 12 month names"),
        ("[styles.Normal]\nsize = 'big'\n", "[styles.Normal] size must be a number"),
        ("[styles.Normal]\nwobble = true\n", "unknown property 'wobble'"),
        ("[styles.X]\ntype = 'character'\nspace_after = 3\n", "space_after applies only to paragraph styles"),
        ("[styles.X]\ntype = 'table'\n", "type must be \"paragraph\" or \"character\""),
        ("[styles.X]\ncolor = 'nope'\n", "must be a hex colour or a name from [colors]"),
        ("[styles.X]\nbullet = '--'\n", "bullet must be a single character"),
        ("[styles.X]\nborder_bottom = { width = 'thin' }\n", "border_bottom.width must be a number"),
        ("[wat]\nx = 1\n", "unknown table [wat]"),
        ("theme = 'x'\n", "theme must be a table"),
        ("[locales.de]\nstyles = {}\n", "may only hold titles, labels and dates"),
        ("[photo]\nposition = 'left'\n", "[photo] position must be one of 'inline', 'right'"),
        ("[photo]\nwidth = 'big'\n", "[photo] width"),
        ("[photo]\nshape = 'round'\n", "[photo] unknown key 'shape'"),
        ("[styles.X]\nborder_left = { width = 'x' }\n", "border_left.width must be a number"),
        ("[styles.X]\nbullet_color = 'nope'\n", "bullet_color must be a hex colour"),
    ],
)
def test_bad_types_are_reported(tmp_path: Path, toml: str, expected: str):
    folder = write_toml(tmp_path / "t", toml)
    with pytest.raises(InputError) as info:
        load_theme(str(folder))
    assert any(expected in line for line in info.value.lines()), info.value.lines()


def test_every_problem_reported_at_once(tmp_path: Path):
    folder = write_toml(tmp_path / "t", "[page]\nsize = 'a3'\n[colors]\ntext = 'red'\n")
    with pytest.raises(InputError) as info:
        load_theme(str(folder))
    assert len(info.value.details) == 2


def test_minimal_theme_gets_defaults(tmp_path: Path):
    folder = write_toml(
        tmp_path / "mini", "[theme]\nname = 'mini'\n[sections]\norder = ['skills']\nhidden = ['references']\n"
    )
    theme = load_theme(str(folder))
    assert theme.name == "mini"
    assert theme.sections[0] == "skills"
    assert "references" not in theme.sections
    assert len(theme.sections) == len(SECTION_KEYS) - 1
    assert theme.titles["education"] == "Education"


# --- extends and locales -------------------------------------------------------------


def test_extends_merges_over_the_parent(tmp_path: Path):
    folder = write_toml(
        tmp_path / "navy",
        """
        [theme]
        name = "navy"
        description = "classic in a different colour"
        extends = "classic"

        [colors]
        accent = "000080"

        [titles]
        work = "Work history"

        [styles."Heading 1"]
        size = 14
        """,
    )
    classic = load_theme("classic")
    theme = load_theme(str(folder))
    assert theme.name == "navy"
    assert theme.config["colors"]["accent"] == "000080"
    assert theme.config["colors"]["text"] == classic.config["colors"]["text"]
    assert theme.config["styles"]["Heading 1"]["size"] == 14
    assert theme.config["styles"]["Heading 1"]["bold"] is True  # inherited property
    assert "extends" in theme.config["theme"]
    assert theme.titles["work"] == "Work history"
    assert theme.sections == classic.sections
    assert theme.search_path[0] == folder
    assert theme.search_path[1].resolve() == CLASSIC.resolve()
    assert theme.fingerprint != classic.fingerprint


def test_extends_cycle_and_unknown(tmp_path: Path):
    write_toml(tmp_path / "a", "[theme]\nextends = '../b'\n")
    write_toml(tmp_path / "b", "[theme]\nextends = '../a'\n")
    with pytest.raises(InputError, match="cycle"):
        load_theme(str(tmp_path / "a"))
    write_toml(tmp_path / "c", "[theme]\nextends = 'nonesuch'\n")
    with pytest.raises(InputError, match="extends unknown theme 'nonesuch'"):
        load_theme(str(tmp_path / "c"))


def test_locale_overlay():
    theme = load_theme("classic")
    german = localized(theme.config, "de-AT")
    assert german["titles"]["work"] == "Berufserfahrung"
    assert german["dates"]["present"] == "heute"
    assert german["dates"]["separator"] == theme.config["dates"]["separator"]  # not overridden
    assert localized(theme.config, "xx") is theme.config
    assert titles_for(theme, "fr")["education"] == "Formation"
    assert titles_for(theme, None) == theme.titles


def test_length_units():
    assert length_pt(12) == 12.0
    assert length_pt("1in") == 72.0
    assert length_pt("2.54cm") == pytest.approx(72.0)
    assert length_pt("25.4mm") == pytest.approx(72.0)
    assert length_pt("10pt") == 10.0
    for bad in ("2", "two cm", True, None, "1 px"):
        with pytest.raises(ValueError):
            length_pt(bad)


# --- shared words: themes/_locales ---------------------------------------------------


def test_shared_english_words_are_the_base_of_every_theme(tmp_path: Path):
    folder = write_toml(tmp_path / "bare", "[theme]\nname = 'bare'\n[titles]\nwork = 'Jobs'\n")
    config = load_theme(str(folder)).config
    assert config["titles"]["work"] == "Jobs"  # the theme wins
    assert config["titles"]["summary"] == "Summary"  # the rest comes from _locales/en.toml
    assert config["labels"]["courses"] == "Courses"
    assert config["dates"]["present"] == "Present"
    assert sorted(config["locales"]) == ["de", "es", "fr", "it", "nl", "pt"]
    assert localized(config, "nl")["titles"]["work"] == "Werkervaring"  # a locale beats the base


def test_shared_locales_are_part_of_the_fingerprint(tmp_path: Path, monkeypatch):
    import resumec.theme as theme_module

    shared = tmp_path / "_locales"
    shutil.copytree(theme_module.SHARED_LOCALES_DIR, shared)
    monkeypatch.setattr(theme_module, "SHARED_LOCALES_DIR", shared)
    before = load_theme("classic").fingerprint
    german = shared / "de.toml"
    german.write_text(german.read_text("utf-8").replace('present = "heute"', 'present = "jetzt"'), "utf-8")
    theme = load_theme("classic")
    assert theme.fingerprint != before
    assert localized(theme.config, "de")["dates"]["present"] == "jetzt"


def test_every_builtin_theme_extends_the_base_and_has_a_template_for_every_section():
    base = (BUILTIN_DIR / BASE_THEME).resolve()
    for name, description in builtin_themes():
        theme = load_theme(name)
        assert description, name
        # A copy needs its own folder and the base, which `extends = "_base"` finds by name.
        assert [p.resolve() for p in theme.search_path] == [theme.root.resolve(), base], name
        folders = [root / "templates" for root in theme.search_path]
        for key in SECTION_KEYS:
            candidates = (f"{key}.xml.j2", f"{SHAPES[key]}.xml.j2")
            assert any((folder / c).is_file() for folder in folders for c in candidates), (name, key)
        assert any((folder / "header.xml.j2").is_file() for folder in folders), name


# --- the base theme: hidden, reachable by extends, part of every fingerprint ----------------


def test_the_base_is_not_listed_but_extends_and_theme_spec_reach_it(tmp_path: Path):
    assert BASE_THEME not in dict(builtin_themes())
    assert "_locales" not in dict(builtin_themes())
    base = load_theme(BASE_THEME)
    assert base.search_path == (base.root,)
    folder = write_toml(tmp_path / "mine", '[theme]\nname = "mine"\nextends = "_base"\n')
    theme = load_theme(str(folder))
    assert theme.search_path[1].resolve() == base.root.resolve()
    assert theme.config["styles"]["Entry Title"] == base.config["styles"]["Entry Title"]
    assert theme.display(base.root / "templates" / "entry.xml.j2") == "themes/_base/templates/entry.xml.j2"
    for hidden in ("_locales", "_nonesuch"):
        write_toml(tmp_path / "bad", f'[theme]\nextends = "{hidden}"\n')
        with pytest.raises(InputError, match=f"extends unknown theme '{hidden}'"):
            load_theme(str(tmp_path / "bad"))
    with pytest.raises(InputError, match="unknown theme '_locales'"):
        load_theme("_locales")


@pytest.fixture
def builtin_copy(tmp_path: Path, monkeypatch) -> Path:
    """A writable copy of every built-in theme (and the base) standing in for the installed ones."""
    import resumec.theme as theme_module

    copy = tmp_path / "themes"
    shutil.copytree(BUILTIN_DIR, copy)
    monkeypatch.setattr(theme_module, "BUILTIN_DIR", copy)
    monkeypatch.setattr(theme_module, "SHARED_LOCALES_DIR", copy / "_locales")
    return copy


def test_the_fingerprint_covers_the_base(builtin_copy: Path, tmp_path: Path):
    child = write_toml(tmp_path / "child", '[theme]\nextends = "classic"\n')
    before = {name: load_theme(name).fingerprint for name in ("classic", "modern", "compact", str(child))}
    template = builtin_copy / BASE_THEME / "templates" / "quote.xml.j2"
    template.write_text(template.read_text("utf-8") + "\n", "utf-8")
    after = {name: load_theme(name).fingerprint for name in before}
    for name in before:
        assert after[name] != before[name], name
    toml = builtin_copy / BASE_THEME / "theme.toml"
    toml.write_text(toml.read_text("utf-8") + "\n# a comment\n", "utf-8")
    assert load_theme("modern").fingerprint != after["modern"]


def test_the_base_adds_nothing_a_builtin_theme_did_not_choose():
    """Tables merge key by key, so a base property would leak into any built-in that left it out.

    Every page, font and colour key, and every property of every style the base
    defines, must be set by each built-in theme that has that table or style itself.
    """
    base = tomllib.loads((BUILTIN_DIR / BASE_THEME / "theme.toml").read_text("utf-8"))
    for name, _ in builtin_themes():
        own = tomllib.loads((BUILTIN_DIR / name / "theme.toml").read_text("utf-8"))
        assert own["theme"]["extends"] == BASE_THEME, name
        for table in ("page", "fonts", "colors"):
            assert set(base[table]) <= set(own.get(table, {})), (name, table)
        assert set(base["page"]["margins"]) <= set(own["page"]["margins"]), name
        for style, props in base["styles"].items():
            if style in own.get("styles", {}):
                missing = set(props) - set(own["styles"][style])
                assert not missing, (name, style, missing)


def test_heading_style_must_be_a_string(tmp_path: Path):
    folder = write_toml(tmp_path / "t", "[sections]\nheading_style = 1\n")
    with pytest.raises(InputError) as info:
        load_theme(str(folder))
    assert any("[sections] heading_style must be the name of a paragraph style" in line
               for line in info.value.lines()), info.value.lines()


# --- the memo of a long-lived caller (watch, batch workers) ----------------------------------------


def count_parses(monkeypatch) -> list[int]:
    """How many TOML files load_theme parses (a one-element list, incremented)."""
    import resumec.theme as theme_module

    parses = [0]
    real = theme_module.tomllib.loads

    def counting(text: str, **kwargs):
        parses[0] += 1
        return real(text, **kwargs)

    monkeypatch.setattr(theme_module.tomllib, "loads", counting)
    return parses


def test_a_memo_parses_an_unchanged_theme_once(tmp_path: Path, monkeypatch):
    child = write_toml(tmp_path / "child", '[theme]\nextends = "classic"\n[colors]\naccent = "000080"\n')
    parses = count_parses(monkeypatch)
    memo: dict = {}
    first = load_theme(str(child), memo)
    assert parses[0] >= 3  # the child, classic, the base and the shared locales
    counted = parses[0]
    again = load_theme(str(child), memo)
    assert again == first and again.config is first.config and parses[0] == counted
    assert load_theme(str(child)) == first  # without a memo: parsed again, the same theme
    assert parses[0] > counted


def test_a_memo_never_serves_an_edited_theme(builtin_copy: Path, tmp_path: Path, monkeypatch):
    """An edit anywhere in the chain (the theme, its parent's templates or theme.toml, the shared words) is seen."""
    child = write_toml(tmp_path / "child", '[theme]\nextends = "classic"\n[colors]\naccent = "000080"\n')
    memo: dict = {}
    seen = [load_theme(str(child), memo)]

    def edited(path: Path, old: str, new: str) -> None:
        text = path.read_text("utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), "utf-8")
        theme = load_theme(str(child), memo)
        assert theme.fingerprint not in {earlier.fingerprint for earlier in seen}
        seen.append(theme)

    edited(child / "theme.toml", '"000080"', '"008000"')
    assert seen[-1].config["colors"]["accent"] == "008000"
    edited(builtin_copy / "classic" / "theme.toml", 'text = "222222"', 'text = "111111"')
    assert seen[-1].config["colors"]["text"] == "111111"
    template = builtin_copy / BASE_THEME / "templates" / "quote.xml.j2"
    edited(template, "", "\n")
    edited(builtin_copy / "_locales" / "de.toml", 'present = "heute"', 'present = "jetzt"')
    assert localized(seen[-1].config, "de")["dates"]["present"] == "jetzt"
    # Back to what it was: the memo's earlier theme, equal to a load without one.
    (child / "theme.toml").write_text('[theme]\nextends = "classic"\n[colors]\naccent = "008000"\n', "utf-8")
    assert load_theme(str(child), memo) == load_theme(str(child))


def test_a_memo_keeps_no_failure(tmp_path: Path):
    folder = write_toml(tmp_path / "broken", '[theme]\nname = "broken"\n[colors]\naccent = "nope"\n')
    memo: dict = {}
    with pytest.raises(InputError, match="invalid theme"):
        load_theme(str(folder), memo)
    write_toml(folder, '[theme]\nname = "fixed"\n[colors]\naccent = "000080"\n')
    assert load_theme(str(folder), memo).config["colors"]["accent"] == "000080"
    write_toml(folder, '[theme]\nname = "broken"\n[colors]\naccent = "nope"\n')
    with pytest.raises(InputError, match="invalid theme"):  # its earlier failure is found again, not a stale success
        load_theme(str(folder), memo)
