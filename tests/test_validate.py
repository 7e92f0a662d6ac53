"""Stage 2: the schema, the checker, and how violations are reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from resumec.errors import InputError
from resumec.load import load, parse_text
from resumec.schema import DATE, EMAIL, RESUME, SECTIONS, STRING, URI, Array, Node, Object
from resumec.validate import Violation, check, describe, format_path, validate

from conftest import CONFORMANCE

SCHEMA_TESTS = CONFORMANCE / "schema-tests"
MISSING = f"conformance data not found at {CONFORMANCE} (it is part of the repository)"


def needs_conformance() -> None:
    assert CONFORMANCE.is_dir(), MISSING


def fixture_cases() -> list[Any]:
    """One case per fixture key, so a failure names the file and key."""
    assert SCHEMA_TESTS.is_dir(), MISSING
    cases = []
    for file in sorted(SCHEMA_TESTS.glob("*.json")):
        fixtures = json.loads(file.read_text(encoding="utf-8"))
        for key, document in fixtures.items():
            if file.name == "dates.json":
                expect: str | None = "invalid" if key == "invalid" else "valid-date"
            elif key == "valid" or key.rstrip("0123456789").endswith("Valid"):
                expect = "valid"
            elif key == "invalid" or key.endswith("Invalid"):
                expect = "invalid"
            else:
                expect = None  # unknown naming: fail loudly rather than ignore it
            cases.append(pytest.param(document, expect, file.name, id=f"{file.stem}-{key}"))
    return cases


def date_fields(node: Node = RESUME, path: tuple = ()) -> list[tuple]:
    """Every place the schema holds a date, with list items at index 0."""
    if isinstance(node, Object):
        return [p for key, sub in node.properties.items() for p in date_fields(sub, path + (key,))]
    if isinstance(node, Array):
        return date_fields(node.items, path + (0,))
    return [path] if node == DATE else []


def document_at(path: tuple, value: Any) -> Any:
    """The smallest résumé with `value` at `path`."""
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


@pytest.mark.parametrize(("document", "expect", "file"), fixture_cases())
def test_official_fixture(document: Any, expect: str | None, file: str) -> None:
    assert expect is not None, f"fixture key in {file} is neither Valid nor Invalid"
    if file == "dates.json":
        # A flat map of date strings: try each in every date field of the schema.
        fields = date_fields()
        assert len(fields) == 11
        for path in fields:
            violations = validate(document_at(path, document))
            if expect == "invalid":
                assert [v.path for v in violations] == [path]
                assert violations[0].message.startswith("not a valid date")
            else:
                assert violations == [], path
    elif expect == "valid":
        assert validate(document) == []
    else:
        assert len(validate(document)) >= 1


def test_official_sample_resume() -> None:
    needs_conformance()
    source = load(str(CONFORMANCE / "sample.resume.json"))
    assert validate(source.data) == []
    check(source)  # must not raise


def _as_node(spec: dict, definitions: dict) -> Node:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        assert name == "iso8601"
        assert definitions[name]["type"] == "string"
        return DATE
    kind = spec["type"]
    if kind == "string":
        return {None: STRING, "uri": URI, "email": EMAIL}[spec.get("format")]
    if kind == "array":
        return Array(_as_node(spec["items"], definitions))
    assert kind == "object"
    assert spec.get("additionalProperties", True) is True
    return Object({k: _as_node(v, definitions) for k, v in spec.get("properties", {}).items()})


def _same(ours: Node, official: Node, where: str) -> None:
    if isinstance(official, Object):
        assert isinstance(ours, Object), where
        for key, sub in official.properties.items():
            assert key in ours.properties, f"{where}.{key} missing from our schema"
            _same(ours.properties[key], sub, f"{where}.{key}")
    elif isinstance(official, Array):
        assert isinstance(ours, Array), where
        _same(ours.items, official.items, f"{where}[]")
    else:
        assert ours == official, where


def test_schema_is_faithful_to_official() -> None:
    """Our schema covers every official field with the same type (and format, bar `$schema`)."""
    needs_conformance()
    official_json = json.loads((CONFORMANCE / "schema.json").read_text(encoding="utf-8"))
    official = _as_node(official_json, official_json["definitions"])
    assert isinstance(official, Object)
    # Deliberate: the official fixture {"$schema": "foo-bar-baz"} must pass, so no URI rule.
    assert official.properties["$schema"] == URI
    assert RESUME.properties["$schema"] == STRING
    relaxed = Object({k: v for k, v in official.properties.items() if k != "$schema"})
    _same(RESUME, relaxed, "(root)")
    # Our only additions: meta.sections.
    extra = set(RESUME.properties) - set(official.properties)
    assert extra == set()
    meta = RESUME.properties["meta"]
    assert isinstance(meta, Object) and meta.properties["sections"] == Array(STRING)


def test_sections_constant() -> None:
    assert SECTIONS == (
        "work", "volunteer", "education", "awards", "certificates", "publications",
        "skills", "languages", "interests", "references", "projects",
    )


def test_schema_is_read_only() -> None:
    with pytest.raises(TypeError):
        RESUME.properties["basics"] = STRING  # type: ignore[index]


# --- messages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"basics": {"name": 42}}, Violation(("basics", "name"), "expected a string, got 42")),
        ({"work": "foo"}, Violation(("work",), 'expected an array, got "foo"')),
        ({"basics": None}, Violation(("basics",), "expected an object, got null")),
        ({"work": [True]}, Violation(("work", 0), "expected an object, got true")),
        ({"skills": [{"keywords": [1.5]}]}, Violation(("skills", 0, "keywords", 0), "expected a string, got 1.5")),
        ({"basics": {"location": []}}, Violation(("basics", "location"), "expected an object, got []")),
        ({"meta": {"version": {"a": "é"}}}, Violation(("meta", "version"), 'expected a string, got {"a": "é"}')),
        ({"$schema": {}}, Violation(("$schema",), "expected a string, got {}")),
        ({"work": [{"startDate": 2013}]}, Violation(("work", 0, "startDate"), "expected a string, got 2013")),
        ({"basics": {"url": None}}, Violation(("basics", "url"), "expected a string, got null")),
    ],
)
def test_type_messages(document: Any, expected: Violation) -> None:
    assert validate(document) == [expected]


def test_long_values_are_truncated() -> None:
    [violation] = validate({"basics": {"name": ["x" * 100]}})
    assert violation.message == 'expected a string, got ["' + "x" * 37 + "…"
    assert len(describe(["x" * 100])) == 40
    assert describe("short") == '"short"'


def test_describe_survives_non_json_values() -> None:
    assert validate({"basics": {"name": {1, 2}}})[0].message.startswith("expected a string, got ")


@pytest.mark.parametrize("root", [[], "resume", None, 3, [{"basics": {}}]])
def test_root_must_be_an_object(root: Any) -> None:
    [violation] = validate(root)
    assert violation.path == ()
    assert violation.message == f"expected an object, got {json.dumps(root)}"


def test_unknown_keys_are_ignored_everywhere() -> None:
    document = {
        "custom": None,
        "basics": {"pronouns": 1, "location": {"planet": []}, "profiles": [{"followers": 10}]},
        "work": [{"team": {"size": 3}, "highlights": ["ok"]}],
        "meta": {"theme": 7},
    }
    assert validate(document) == []


def test_all_violations_in_document_order() -> None:
    document = {
        "work": [{"name": 1, "startDate": "2010-13-45", "highlights": ["ok", 2, None]}],
        "basics": {"email": "not-an-email", "profiles": [{"url": "www.example.com"}]},
        "meta": {"sections": ["work", 3]},
    }
    assert [(format_path(v.path), v.message) for v in validate(document)] == [
        ("work[0].name", "expected a string, got 1"),
        ("work[0].startDate", 'not a valid date "2010-13-45" (expected YYYY, YYYY-MM or YYYY-MM-DD)'),
        ("work[0].highlights[1]", "expected a string, got 2"),
        ("work[0].highlights[2]", "expected a string, got null"),
        ("basics.email", 'not a valid email address "not-an-email" (expected local@domain)'),
        (
            "basics.profiles[0].url",
            'not a valid URL "www.example.com" (no scheme such as https://; did you mean https://www.example.com)',
        ),
        ("meta.sections[1]", "expected a string, got 3"),
    ]


# --- dates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["2013", "2013-12", "2013-12-01", "2024-02-29", "2000-02-29", "1000", "2999-12-31", ""],
)
def test_good_dates(value: str) -> None:
    assert validate({"work": [{"startDate": value, "endDate": value}]}) == []


@pytest.mark.parametrize(
    "value",
    [
        "2010-13-45", "2013-02-30", "2013-12-021", "2023-02-29", "1900-02-29", "2013-00", "2013-1",
        "2013-01-1", "13", "20130", "2013-12-01T10:00", "2013/12/01", " 2013", "2013\n", "0999",
        "３０００", "Present", "2013-04-31", "2013-12-00",
    ],
)
def test_bad_dates(value: str) -> None:
    [violation] = validate({"awards": [{"date": value}]})
    assert violation.path == ("awards", 0, "date")
    assert violation.message == (
        f"not a valid date {json.dumps(value, ensure_ascii=False)} (expected YYYY, YYYY-MM or YYYY-MM-DD)"
    )


def test_every_date_field_is_checked() -> None:
    document = {
        "work": [{"startDate": "x", "endDate": "x"}],
        "volunteer": [{"startDate": "x", "endDate": "x"}],
        "education": [{"startDate": "x", "endDate": "x"}],
        "awards": [{"date": "x"}],
        "certificates": [{"date": "x"}],
        "publications": [{"releaseDate": "x"}],
        "projects": [{"startDate": "x", "endDate": "x"}],
    }
    assert [v.path for v in validate(document)] == date_fields()  # nothing missed, nothing else


# --- URLs and email --------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "", "https://example.com", "http://example.com/a?b=c#d", "https://例え.jp/パス",
        "http://localhost:8080/", "http://[::1]/", "mailto:ada@example.com", "ftp://files.example.com/cv.pdf",
        "http://en.wikipedia.org/wiki/Silicon_Valley_(TV_series)",
    ],
)
def test_good_urls(value: str) -> None:
    assert validate({"basics": {"url": value}}) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("www.example.com", "no scheme such as https://; did you mean https://www.example.com"),
        ("example.com/me", "no scheme such as https://; did you mean https://example.com/me"),
        ("/about", "no scheme such as https://"),
        ("http://", "no host name"),
        ("https:///path", "no host name"),
        ("http:example.com", "no host name"),
        ("https://exa mple.com", "it contains whitespace or a control character"),
        ("https://example.com/\t", "it contains whitespace or a control character"),
        ("https://example.com/\x00", "it contains whitespace or a control character"),
        ("https://example.com/\x85", "it contains whitespace or a control character"),
        ("https://example.com\u00a0", "it contains whitespace or a control character"),
        ("http://[::1", "Invalid IPv6 URL"),
        ("https://example.com:99999", "Port out of range 0-65535"),
    ],
)
def test_bad_urls(value: str, reason: str) -> None:
    [violation] = validate({"basics": {"url": value}})
    assert violation.message == f"not a valid URL {describe(value)} ({reason})"


def test_every_url_field_is_checked() -> None:
    bad = "not a url"
    document = {
        "basics": {"url": bad, "profiles": [{"url": bad}], "image": bad},  # image is a plain string
        "work": [{"url": bad}],
        "volunteer": [{"url": bad}],
        "education": [{"url": bad}],
        "certificates": [{"url": bad}],
        "publications": [{"url": bad}],
        "projects": [{"url": bad}],
        "meta": {"canonical": bad},
        "$schema": bad,  # only has to be a string
    }
    assert [format_path(v.path) for v in validate(document)] == [
        "basics.url", "basics.profiles[0].url", "work[0].url", "volunteer[0].url", "education[0].url",
        "certificates[0].url", "publications[0].url", "projects[0].url", "meta.canonical",
    ]


@pytest.mark.parametrize("value", ["", "ada@example.com", "a.b+c@sub.example.co.uk", "ada@localhost", "zoë@bücher.de"])
def test_good_emails(value: str) -> None:
    assert validate({"basics": {"email": value}}) == []


@pytest.mark.parametrize("value", ["ada", "@example.com", "ada@", "a@b@c", "ada @example.com", "ada@exa mple.com"])
def test_bad_emails(value: str) -> None:
    [violation] = validate({"basics": {"email": value}})
    assert violation.message == f"not a valid email address {describe(value)} (expected local@domain)"


# --- $schema and meta.sections ---------------------------------------------


def test_schema_key_only_needs_a_string() -> None:
    assert validate({"$schema": "foo-bar-baz"}) == []
    assert validate({"$schema": ""}) == []
    assert [v.path for v in validate({"$schema": 1})] == [("$schema",)]


def test_meta_sections() -> None:
    assert validate({"meta": {"sections": []}}) == []
    assert validate({"meta": {"sections": ["work", "education=Studies", "not-a-section"]}}) == []
    assert validate({"meta": {"sections": "work"}}) == [
        Violation(("meta", "sections"), 'expected an array, got "work"')
    ]
    assert validate({"meta": {"sections": ["work", None, {"name": "x"}]}}) == [
        Violation(("meta", "sections", 1), "expected a string, got null"),
        Violation(("meta", "sections", 2), 'expected a string, got {"name": "x"}'),
    ]


# --- format_path -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), "(root)"),
        (("basics",), "basics"),
        (("work", 1, "highlights", 0), "work[1].highlights[0]"),
        (("$schema",), "$schema"),
        (("meta", "a b"), 'meta["a b"]'),
        (("x-y",), '["x-y"]'),
        (("",), '[""]'),
        ((0, "a"), "[0].a"),
    ],
)
def test_format_path(path: tuple, text: str) -> None:
    assert format_path(path) == text


# --- check: FILE:LINE:COL reporting ----------------------------------------

TEXT = """\
{
  "basics": {
    "name": 42,
    "email": "ada@example.com",
    "profiles": [{"network": "x", "url": "example.com"}]
  },
  "work": [
    {"name": "A", "startDate": "2013-02-30"},
    {
      "name": "B",
      "highlights": [
        "fine",
        false
      ]
    }
  ],
  "meta": null
}
"""


def test_check_reports_every_violation_with_line_and_column() -> None:
    source = parse_text("resume.json", TEXT)
    with pytest.raises(InputError) as info:
        check(source)
    err = info.value
    assert err.exit_code == 1
    assert err.message == "resume.json: 5 problems"
    assert err.details == [
        "resume.json:3:13: basics.name: expected a string, got 42",
        'resume.json:5:42: basics.profiles[0].url: not a valid URL "example.com" '
        "(no scheme such as https://; did you mean https://example.com)",
        'resume.json:8:32: work[0].startDate: not a valid date "2013-02-30" (expected YYYY, YYYY-MM or YYYY-MM-DD)',
        "resume.json:13:9: work[1].highlights[1]: expected a string, got false",
        "resume.json:17:11: meta: expected an object, got null",
    ]
    assert err.lines() == err.details


def test_check_singular_and_root() -> None:
    with pytest.raises(InputError) as info:
        check(parse_text("<stdin>", "\n  [1, 2]"))
    assert info.value.message == "<stdin>: 1 problem"
    assert info.value.details == ["<stdin>:1:1: (root): expected an object, got [1, 2]"]


def test_check_escaped_keys_and_tricky_strings() -> None:
    text = '{"basics": {"summary": "}{][\\"", "na\\u006de": [\n  "x"]}}'
    with pytest.raises(InputError) as info:
        check(parse_text("r.json", text))
    assert info.value.details == ['r.json:1:47: basics.name: expected a string, got ["x"]']


def test_check_passes_quietly(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text('{"basics": {"name": "Ada"}, "work": [{"startDate": "2024-02-29"}]}', encoding="utf-8")
    assert check(load(str(path))) is None


def test_validate_large_valid_document() -> None:
    """A realistic, repetitive résumé is valid (its speed is measured in benchmarks/, not here)."""
    document = {
        "$schema": "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json",
        "basics": {
            "name": "Ada", "label": "Engineer", "email": "ada@example.com", "url": "https://ada.example.com",
            "summary": "x" * 300, "location": {"city": "London", "countryCode": "GB"},
            "profiles": [{"network": "GitHub", "username": "ada", "url": "https://github.com/ada"}] * 3,
        },
        "work": [
            {
                "name": f"Company {i}", "position": "Engineer", "url": "https://example.com",
                "startDate": "2015-01", "endDate": "2018-06-30", "summary": "y" * 200,
                "highlights": ["Did a thing that mattered"] * 5,
            }
            for i in range(8)
        ],
        "education": [{"institution": "U", "startDate": "2010", "endDate": "2014", "courses": ["A", "B"]}] * 2,
        "skills": [{"name": "Python", "level": "Expert", "keywords": ["a", "b", "c", "d"]}] * 6,
        "projects": [{"name": "P", "startDate": "2020-01-01", "url": "https://p.example.com", "roles": ["Lead"]}] * 4,
        "meta": {"sections": ["work", "education", "skills=Toolbox", "projects"]},
    }
    assert validate(document) == []
    document["work"][7]["highlights"][4] = 5
    assert [format_path(v.path) for v in validate(document)] == ["work[7].highlights[4]"]
