"""The rendered-résumé model (resumec/entries.py): every section mapped onto its entry shape."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields

import pytest

from conftest import SAMPLES
from resumec.entries import ENTRY, GROUP, QUOTE, SHAPES, Dates, Entry, Section, resume_model, section_entries
from resumec.sections import SECTION_KEYS

FULL = json.loads((SAMPLES / "full.json").read_text("utf-8"))


def one(key: str, item: dict) -> Entry:
    entries = section_entries(key, [item])
    assert len(entries) == 1, entries
    return entries[0]


def set_fields(entry: Entry) -> dict:
    """The fields that hold something (raw aside), to assert nothing else leaks in."""
    return {f.name: getattr(entry, f.name) for f in fields(entry) if f.name != "raw" and getattr(entry, f.name)}


def test_every_section_has_a_shape():
    assert set(SHAPES) == set(SECTION_KEYS)
    assert {key for key, shape in SHAPES.items() if shape == GROUP} == {"skills", "languages", "interests"}
    assert {key for key, shape in SHAPES.items() if shape == QUOTE} == {"references"}
    assert sum(shape == ENTRY for shape in SHAPES.values()) == 7


# --- every section, every field ---------------------------------------------------------------


def test_work():
    item = FULL["work"][0]
    assert set_fields(one("work", item)) == {
        "title": "Staff Software Engineer",
        "organisation": "Lumen Freight",
        "organisation_url": "https://lumenfreight.example.com",  # a job's url is the company's site
        "url": "https://lumenfreight.example.com",
        "place": "Lisbon, Portugal (hybrid)",
        "description": "Logistics SaaS, 400 employees",
        "dates": Dates(start="2021-03"),
        "summary": item["summary"],
        "highlights": tuple(item["highlights"]),
    }


def test_volunteer():
    item = dict(FULL["volunteer"][0], location="Lisbon")
    assert set_fields(one("volunteer", item)) == {
        "title": "Coach and Organiser",
        "organisation": "Rails Girls Lisbon",
        "organisation_url": "https://railsgirls.example.org/lisbon",
        "url": "https://railsgirls.example.org/lisbon",
        "place": "Lisbon",  # not in the schema, but printed when given
        "dates": Dates(start="2016-04", end="2020-12"),
        "summary": item["summary"],
        "highlights": tuple(item["highlights"]),
    }


def test_education():
    assert set_fields(one("education", FULL["education"][0])) == {
        "title": "MSc in Computer Science",
        "organisation": "Universidade do Porto",
        "organisation_url": "https://www.up.pt",
        "url": "https://www.up.pt",
        "dates": Dates(start="2012-09", end="2014-07"),
        "score": "18/20",
        "courses": ("Distributed Systems", "Formal Methods", "Information Retrieval"),
    }
    assert one("education", {"studyType": "BSc"}).title == "BSc"
    assert one("education", {"area": "Maths", "institution": "Uni"}).title == "Maths"


def test_awards_certificates_publications_have_a_single_date():
    award = one("awards", FULL["awards"][0])
    assert set_fields(award) == {"title": "Engineering Excellence Award", "organisation": "Oceanic Payments",
                                 "dates": Dates(single="2019-12"), "summary": FULL["awards"][0]["summary"]}
    certificate = one("certificates", FULL["certificates"][0])
    assert set_fields(certificate) == {
        "title": "Certified Kubernetes Administrator (CKA)", "organisation": "Cloud Native Computing Foundation",
        "url": FULL["certificates"][0]["url"], "dates": Dates(single="2022-05-18"),
    }
    assert certificate.organisation_url == ""  # the link is the certificate's, not the issuer's
    publication = one("publications", FULL["publications"][0])
    assert set_fields(publication) == {
        "title": FULL["publications"][0]["name"], "organisation": "QCon London", "url": FULL["publications"][0]["url"],
        "dates": Dates(single="2023-03-28"), "summary": FULL["publications"][0]["summary"],
    }


def test_projects():
    item = FULL["projects"][0]
    assert set_fields(one("projects", item)) == {
        "title": "go-ratelimit",
        "organisation": "Open source",
        "url": item["url"],
        "dates": Dates(start="2018-02"),
        "summary": item["description"],  # a project's description is its summary
        "highlights": tuple(item["highlights"]),
        "keywords": ("Go", "Redis", "Lua"),
        "roles": ("Creator", "Maintainer"),
        "type": "application",
    }


def test_groups_and_quotes():
    assert set_fields(one("skills", FULL["skills"][0])) == {
        "title": "Languages", "level": "Expert", "keywords": ("Go", "Java", "Python", "SQL")}
    assert set_fields(one("languages", FULL["languages"][0])) == {"title": "Portuguese", "level": "Native"}
    assert set_fields(one("interests", FULL["interests"][0])) == {
        "title": "Trail running", "keywords": ("ultra-trails", "Serra de Sintra")}
    assert set_fields(one("references", FULL["references"][0])) == {
        "quote": FULL["references"][0]["reference"], "name": "Joana Ribeiro, VP Engineering"}


def test_the_raw_item_travels_along():
    item = {"name": "Org", "position": "Dev", "x-team": "Payments"}
    assert one("work", item).raw is item


# --- missing and empty fields -----------------------------------------------------------------


@pytest.mark.parametrize(("key", "item", "title"), [
    ("work", {"name": "Only Org", "url": "https://o.example"}, "Only Org"),
    ("volunteer", {"organization": "Only Org"}, "Only Org"),
    ("education", {"institution": "Uni"}, "Uni"),
    ("awards", {"awarder": "Only Awarder"}, "Only Awarder"),
    ("certificates", {"issuer": "Only Issuer"}, "Only Issuer"),
    ("publications", {"publisher": "Only Publisher"}, "Only Publisher"),
    ("projects", {"entity": "Only Entity"}, "Only Entity"),
])
def test_an_organisation_without_a_title_becomes_the_title(key, item, title):
    entry = one(key, item)
    assert (entry.title, entry.organisation, entry.organisation_url) == (title, "", "")
    assert entry.url == item.get("url", "")  # a work url stays the entry's link


def test_empty_values_are_absent_and_whitespace_is_trimmed():
    entry = one("work", {"position": "  Dev  ", "name": "   ", "location": "", "highlights": ["", "  ", " a "],
                         "summary": None, "startDate": " 2020 "})
    assert set_fields(entry) == {"title": "Dev", "highlights": ("a",), "dates": Dates(start="2020")}


def test_wrong_types_are_absent_not_errors():
    entry = one("projects", {"name": "P", "keywords": "Go", "roles": [1, None, {"x": 1}, "r"], "type": ["t"],
                             "startDate": 2019, "highlights": [True, "h"]})
    assert set_fields(entry) == {"title": "P", "roles": ("1", "r"), "dates": Dates(start="2019"),
                                 "highlights": ("h",)}


def test_items_with_nothing_to_print_are_dropped():
    assert section_entries("skills", [{}, {"name": "", "keywords": []}, {"keywords": ["", " "]}, "text", None]) == ()
    assert section_entries("work", [{"x-internal": "not printed"}]) == ()
    assert section_entries("work", "not a list") == ()
    assert section_entries("references", [{"name": "N"}])[0].name == "N"
    with pytest.raises(ValueError, match="unknown section 'basics'"):
        section_entries("basics", [{"name": "N"}])


def test_dates_and_entries_are_falsy_when_empty():
    assert not Dates() and Dates(end="2020") and Dates(single="2020")
    assert not Entry() and Entry(level="Native")


# --- the whole model ---------------------------------------------------------------------------


def test_the_model_keeps_the_given_order_and_titles_and_drops_empty_sections():
    data = dict(FULL, volunteer=[], awards=[{}], interests="nope")
    model = resume_model(data, [("skills", "Toolbox"), ("work", "Jobs"), ("volunteer", "V"), ("awards", "A"),
                                ("interests", "I")])
    assert [(s.key, s.title, s.shape) for s in model.sections] == [("skills", "Toolbox", GROUP), ("work", "Jobs", ENTRY)]
    assert isinstance(model.sections[0], Section) and len(model.sections[1].entries) == 3
    assert model.basics is FULL["basics"]
    assert resume_model({"basics": "x"}, []).basics == {}


def test_every_section_of_the_full_sample_maps():
    model = resume_model(FULL, [(key, key) for key in SECTION_KEYS])
    assert [s.key for s in model.sections] == list(SECTION_KEYS)
    for section in model.sections:
        assert len(section.entries) == len(FULL[section.key]), section.key


def test_the_model_is_pure():
    """No Jinja2, python-docx or lxml: HTML, Markdown and plain-text renderers read it too."""
    code = (
        "import sys, resumec.entries; "
        "bad = [m for m in ('jinja2', 'docx', 'lxml', 'markupsafe') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
