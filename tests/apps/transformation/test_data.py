"""The transformation data files: every text a person reads (questions, levels, dimension names,
subsidy rules, targets and their sources, units) is written in English, Chinese and Russian, and
the Chinese and Russian are translations, not English copies. Identifiers (ids, metrics, country
codes, addresses, the figures' keys) are the only bare strings the files may hold."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from smartfab.apps.transformation.data import PACKAGED, TransformationError, load_model
from smartfab.apps.transformation.maturity import questionnaire

FILES = sorted(PACKAGED.glob("*.yaml"))
LANGS = {"en", "zh", "ru"}
# Keys whose strings are identifiers or addresses, never shown as words to a person.
IDENTIFIERS = {
    "id", "group", "method", "metric", "kpi", "country", "countries", "url", "currency",
    "basis", "project_types", "what", "data", "regions",
}  # fmt: skip
LATIN = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _texts(node: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(where, node) of every text ({en, zh, ru}) and of every bare string outside one."""
    if isinstance(node, dict):
        if set(node) & LANGS:
            yield where, node
            return
        for key, value in node.items():
            if key not in IDENTIFIERS:
                yield from _texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _texts(value, f"{where}[{i}]")
    elif isinstance(node, str):
        yield where, node


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_text_of_a_data_file_is_in_english_chinese_and_russian(path: Path) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = list(_texts(raw, path.stem))
    problems = []
    for where, text in found:
        if not isinstance(text, dict):
            problems.append(f"{where}: {text!r} is in one language only")
        elif set(text) != LANGS or not all(isinstance(v, str) and v for v in text.values()):
            problems.append(f"{where}: needs en, zh and ru, has {sorted(text)}")
        elif LATIN.search(text["en"]) and not (
            CJK.search(text["zh"]) and CYRILLIC.search(text["ru"])
        ):
            problems.append(f"{where}: zh {text['zh']!r} or ru {text['ru']!r} is not translated")
    assert not problems, "\n".join(problems)
    assert found  # the walk reached the texts


def test_the_check_sees_an_english_only_text(tmp_path: Path) -> None:
    raw = yaml.safe_load((PACKAGED / "siri.yaml").read_text(encoding="utf-8"))
    raw["source"] = "Singapore EDB"
    raw["levels"][1]["zh"] = raw["levels"][1]["en"]
    found = dict(_texts(raw, "siri"))
    assert found["siri.source"] == "Singapore EDB"
    assert not CJK.search(found["siri.levels.1"]["zh"])
    # The schema refuses a text without its translations, naming the field.
    (tmp_path / "siri.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TransformationError, match=r"siri.yaml: source: Input should be"):
        questionnaire("siri", tmp_path)


def test_every_packaged_file_loads() -> None:
    from smartfab.apps.transformation.insights import Article, Economies
    from smartfab.apps.transformation.maturity import MODELS, targets
    from smartfab.apps.transformation.subsidies import programmes

    assert [questionnaire(m).id for m in MODELS] == list(MODELS)
    assert targets().targets and programmes()
    assert load_model("article.yaml", Article).figures
    assert load_model("economies.yaml", Economies).groups


def test_every_country_of_a_group_has_a_region_code_a_browser_names() -> None:
    from smartfab.apps.transformation.insights import Economies

    found = load_model("economies.yaml", Economies)
    members = {c for g in found.groups.values() for c in g.countries}
    named = set(found.regions) | set(found.names)
    assert members <= named, members - named
    odd = {k: v for k, v in found.regions.items() if not re.fullmatch(r"[A-Z]{2}", v)}
    assert not odd
