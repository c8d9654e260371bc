"""Reading knowledge files: duplicated keys refused in YAML and JSON, lines found for keys."""
from __future__ import annotations

from cds_service import documents


def _read(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return documents.read(path, name)


def test_a_nested_duplicated_yaml_key_names_its_path_and_both_lines(tmp_path):
    problem = _read(tmp_path, "a.yaml", "a:\n  b:\n    c: 1\n    d: 2\n    c: 3\n")
    assert str(problem) == "a.yaml:5: a.b.c: key 'c' given twice (first on line 3)"


def test_a_duplicated_json_key_names_its_path_and_line(tmp_path):
    problem = _read(tmp_path, "a.json", '{\n  "x": {\n    "y": 1,\n    "y": 2\n  }\n}\n')
    assert str(problem) == "a.json:4: x.y: key 'y' given twice (first on line 3)"


def test_the_same_key_in_two_mappings_is_fine(tmp_path):
    doc = _read(tmp_path, "a.yaml", "a: {k: 1}\nb: {k: 2}\n")
    assert isinstance(doc, documents.Document) and doc.data == {"a": {"k": 1}, "b": {"k": 2}}


def test_broken_yaml_names_the_line(tmp_path):
    problem = _read(tmp_path, "a.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    assert isinstance(problem, documents.Problem) and problem.line is not None and "not readable YAML" in problem.message


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path):
    problem = documents.read(tmp_path / "nothing.yaml", "nothing.yaml")
    assert isinstance(problem, documents.Problem) and "not readable" in problem.message


def test_lines_of_keys_and_list_items(tmp_path):
    doc = _read(tmp_path, "a.yaml", "top:\n  list:\n    - {k: 1}\n    - {k: 2}\n")
    assert doc.line(("top", "list", 1, "k")) == 4
    assert doc.line(("top", "list", 1, "missing")) == 4  # the deepest key the file holds
    assert documents.dotted(("top", "list", 1, "k")) == "top.list[1].k"
