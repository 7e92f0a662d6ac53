from __future__ import annotations

import pytest

from resumec.errors import InputError, UsageError
from resumec.sections import SECTION_KEYS, resolve

TITLES = {key: key.title() for key in SECTION_KEYS}


def test_flag_order_and_renames():
    got = resolve("work=Experience, education ,skills", {}, SECTION_KEYS, TITLES)
    assert got == [("work", "Experience"), ("education", "Education"), ("skills", "Skills")]


def test_meta_sections_then_theme_default():
    data = {"meta": {"sections": ["projects", "work=Jobs"]}}
    assert resolve(None, data, SECTION_KEYS, TITLES) == [("projects", "Projects"), ("work", "Jobs")]
    assert [k for k, _ in resolve(None, {}, ("skills", "work"), TITLES)] == ["skills", "work"]
    # the flag wins over meta.sections
    assert resolve("awards", data, SECTION_KEYS, TITLES) == [("awards", "Awards")]


def test_unknown_name_suggests_closest():
    with pytest.raises(UsageError) as info:
        resolve("wrok,education", {}, SECTION_KEYS, TITLES)
    assert "did you mean 'work'?" in info.value.message
    with pytest.raises(UsageError, match="listed twice"):
        resolve("work,work", {}, SECTION_KEYS, TITLES)
    with pytest.raises(UsageError, match="header"):
        resolve("basics", {}, SECTION_KEYS, TITLES)


def test_bad_meta_sections_is_input_error_with_location():
    data = {"meta": {"sections": ["work", "edu"]}}
    with pytest.raises(InputError) as info:
        resolve(None, data, SECTION_KEYS, TITLES, "r.json", lambda path: (7, 9))
    assert info.value.message.startswith("r.json:7:9: meta.sections[1]: unknown section 'edu'")
    assert "did you mean 'education'?" in info.value.message
