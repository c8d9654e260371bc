"""``cds-service catalogue``: one row per card variant, from the knowledge files, in Markdown and HTML."""
from __future__ import annotations

import shutil

from cds_service import catalogue, cli, knowledge as knowledge_mod
from cds_service.config import REPO_ROOT

from test_report import assert_self_contained


def _table(markdown: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in markdown.splitlines() if line.startswith("| ")]


def test_one_row_per_variant_with_every_column(knowledge):
    header, *rows = _table(catalogue.markdown(knowledge))
    assert header == list(catalogue.COLUMNS)
    assert [(r[0], r[1]) for r in rows] == [(p, v.id) for p in sorted(knowledge.templates)
                                            for v in knowledge.templates[p].variants]
    by_key = {(r[0], r[1]): dict(zip(header, r, strict=True)) for r in rows}
    ali = by_key[("arterial-claudication", "acute-limb-ischaemia")]
    assert (ali["Indicator"], ali["Snoozable"]) == ("critical", "no")
    low = by_key[("arterial-claudication", "abi-abnormal-exertional")]
    assert low["Trigger"] == "any situation of: abi-abnormal; exertional symptoms"
    assert low["Snoozable"] == "yes, CDS_SNOOZE_DAYS (90 d)" and low["Class of recommendation"] == "G1 Class I"
    assert low["Window"] == "abi-abnormal: 365 d (measurement)"
    template = knowledge.templates["arterial-claudication"]
    variant = next(v for v in template.variants if v.id == "abi-abnormal-exertional")
    assert low["Source"] == "; ".join(link["label"] for ref in variant.sources for link in template.links
                                      if link["id"] == ref)
    assert low["Source"]
    assert by_key[("venous-claudication", "default")]["Snoozable"] == "no"


def _copy_knowledge(target):
    for folder in ("valuesets", "knowledge", "cards", "questionnaires"):
        if (REPO_ROOT / folder).is_dir():
            shutil.copytree(REPO_ROOT / folder, target / folder)


def test_the_catalogue_follows_the_knowledge_files(tmp_path):
    _copy_knowledge(tmp_path)
    path = tmp_path / "cards" / "musculoskeletal-leg-pain.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    snoozable: true", "    snoozable: true\n    snooze_days: 30"), encoding="utf-8")
    changelog = tmp_path / "knowledge" / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace("\n## ", "\n## 2099.01.01-0\n- test\n\n## ", 1))
    k = knowledge_mod.load(tmp_path)
    rows = {(r[0], r[1]): r for r in _table(catalogue.markdown(k))[1:]}
    assert rows[("musculoskeletal-leg-pain", "default")][-1] == "yes, 30 d"
    assert catalogue.markdown(k).startswith("# Card catalogue (knowledge 2099.01.01-0)")


def test_the_command_prints_markdown_and_writes_both_files(tmp_path, capsys, knowledge):
    assert cli.main(["catalogue"]) == 0
    assert capsys.readouterr().out == catalogue.markdown(knowledge)
    md, page = tmp_path / "catalogue.md", tmp_path / "catalogue.html"
    assert cli.main(["catalogue", "--markdown", str(md), "--html", str(page)]) == 0
    assert md.read_text(encoding="utf-8") == catalogue.markdown(knowledge)
    html = page.read_text(encoding="utf-8")
    assert html.count("<tr>") == 1 + sum(len(t.variants) for t in knowledge.templates.values())
    assert_self_contained(html)


def test_a_missing_changelog_stops_the_load(tmp_path):
    _copy_knowledge(tmp_path)
    (tmp_path / "knowledge" / "CHANGELOG.md").write_text("# Knowledge changelog\n\nno version yet\n")
    import pytest
    with pytest.raises(knowledge_mod.KnowledgeError, match="has no '## <version>' heading"):
        knowledge_mod.load(tmp_path)
    (tmp_path / "knowledge" / "CHANGELOG.md").unlink()
    with pytest.raises(knowledge_mod.KnowledgeError, match="names the knowledge version"):
        knowledge_mod.load(tmp_path)
