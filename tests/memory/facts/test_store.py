"""The fact store: merge, dedupe, supersede, scan user messages, relevance, forget."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.cli.facts import source_line
from hermes.config import Config, PromptConfig
from hermes.memory.facts.extract import extract_facts
from hermes.memory.facts.recall import FACTS_HEADER, facts_block, relevant_facts
from hermes.memory.facts.store import Fact, FactStore, MergeResult, NewFact, list_facts
from hermes.messages import Message, ToolCall
from hermes.prompt.system import build_system_prompt
from hermes.store.sessions import Store
from hermes.tokens import estimate_tokens

WS = "/work/project"
T0 = 1_700_000_000.0


def fact(
    category: str, content: str, subject: str = "", *, ws: str | None = None, conf: float = 0.8
) -> NewFact:
    return NewFact(category, content, subject, conf, ws, said_in=WS)  # type: ignore[arg-type]


def stored(
    fid: int, category: str, content: str, subject: str, ws: str | None, **kw: object
) -> Fact:
    base: dict[str, object] = {
        "confidence": 0.8,
        "origin": "rules",
        "source_session": None,
        "source_message": None,
        "source_text": "",
        "first_seen": T0,
        "last_seen": T0,
        "times_seen": 1,
        "superseded_by": None,
    }
    base.update(kw)
    return Fact(fid, category, content, subject, ws, **base)  # type: ignore[arg-type]


def test_merge_deduplicates_on_normalized_content(store: Store) -> None:
    facts = FactStore(store)
    first = facts.merge(
        [fact("preference", "The user prefers pytest over unittest", "test runner")], now=T0
    )
    assert first == MergeResult(
        added=(
            stored(1, "preference", "The user prefers pytest over unittest", "test runner", None),
        )
    )
    again = facts.merge(
        [fact("preference", "the user prefers `pytest` over unittest!", "test runner", conf=0.9)],
        now=T0 + 60,
    )
    assert again == MergeResult(
        seen_again=(
            stored(
                1, "preference", "The user prefers pytest over unittest", "test runner", None,
                confidence=0.9, last_seen=T0 + 60, times_seen=2,
            ),
        )
    )  # fmt: skip
    # the same words in another scope are another fact
    other = facts.merge([fact("project", "The user prefers pytest over unittest", ws="/other")])
    assert [f.id for f in other.added] == [2]
    assert len(facts.list()) == 2


def test_a_correction_supersedes_the_older_fact_on_the_same_subject(store: Store) -> None:
    facts = FactStore(store)
    facts.merge([fact("project", "The dev server port is 5432", "port", ws=WS)], now=T0)
    facts.merge(
        [fact("project", "The port is 8000 in the other repo", "port", ws="/other")], now=T0
    )
    facts.merge([fact("preference", "Always use type hints", "type hints")], now=T0)
    result = facts.merge(
        [fact("correction", "Correction: the port is 5433", "port", conf=0.85)], now=T0 + 1
    )
    assert result.superseded == (1,)
    correction = result.added[0]
    # a correction of this workspace's fact belongs to this workspace, not everywhere
    assert (correction.content, correction.workspace) == ("Correction: the port is 5433", WS)
    assert [f.content for f in facts.list(workspace=WS)] == [
        "Correction: the port is 5433",
        "Always use type hints",
    ]
    old = facts.get(1)
    assert old is not None and old.superseded_by == correction.id
    assert [f.id for f in facts.list(include_superseded=True)] == [4, 3, 2, 1]
    # a second correction supersedes the first; forgetting it undoes that
    later = facts.merge([fact("correction", "Correction: the port is 6000", "port")], now=T0 + 2)
    assert later.superseded == (4,)
    assert facts.list(workspace=WS)[0].content == "Correction: the port is 6000"
    assert facts.forget(later.added[0].id) is True
    assert [f.content for f in facts.list(workspace=WS)] == [
        "Correction: the port is 5433",
        "Always use type hints",
    ]
    assert facts.forget(999) is False


def test_scan_reads_only_user_messages_once_and_links_the_source(store: Store) -> None:
    rec = store.create_session(WS, "m", "ask")
    msgs = [
        Message("user", "I prefer pytest over unittest. Please fix the parser."),
        Message("assistant", None, (ToolCall("c1", "read_file", "{}"),)),
        Message("tool", "I prefer tabs. We use poetry.", (), "c1"),  # tool output: never mined
        Message("assistant", "The project uses npm."),  # the model's words: never mined
        Message("user", "Actually, the port is 5433. I'm on macOS."),
    ]
    ids = [store.append_message(rec.id, m).id for m in msgs]
    facts = FactStore(store)
    first = facts.scan_session(rec.id, WS, through_seq=0, now=T0)
    assert [(f.content, f.source_message, f.source_text) for f in first.added] == [
        ("The user prefers pytest over unittest", ids[0], "I prefer pytest over unittest."),
    ]
    rest = facts.scan_session(rec.id, WS, now=T0)
    said = extract_facts(msgs[4].content or "")
    assert [c.category for c in said] == ["correction", "environment"]
    assert [(f.category, f.content, f.workspace, f.source_message) for f in rest.added] == [
        ("correction", said[0].content, None, ids[4]),
        ("environment", said[1].content, WS, ids[4]),
    ]
    assert facts.scan_session(rec.id, WS) == MergeResult()  # nothing counted twice
    assert facts.list()[-1].times_seen == 1
    line = source_line(store, first.added[0])
    assert line == f"said, session {rec.id} message #0: 'I prefer pytest over unittest.'"
    # deleting the session keeps the fact and drops the link
    store.delete_session(rec.id)
    kept = facts.get(first.added[0].id)
    assert kept is not None and (kept.source_session, kept.source_message) == (None, None)


def test_relevant_facts_rank_by_confidence_and_recency_within_the_budget(store: Store) -> None:
    facts = FactStore(store)
    day = 86_400.0
    facts.merge([fact("preference", "Old but sure", conf=0.9)], now=T0 - 300 * day)
    facts.merge([fact("preference", "Fresh and sure", conf=0.9)], now=T0)
    facts.merge([fact("project", "Fresh but unsure here", ws=WS, conf=0.5)], now=T0)
    facts.merge([fact("project", "Belongs elsewhere", ws="/other", conf=1.0)], now=T0)
    ranked = relevant_facts(facts, WS, 500, count=estimate_tokens, now=T0)
    assert [f.content for f in ranked] == [
        "Fresh and sure",
        "Fresh but unsure here",
        "Old but sure",
    ]
    fits_one = estimate_tokens(FACTS_HEADER) + estimate_tokens("- Fresh and sure") + 2
    tight = relevant_facts(facts, WS, fits_one, count=estimate_tokens, now=T0)
    assert [f.content for f in tight] == ["Fresh and sure"]
    assert relevant_facts(facts, WS, 0, count=estimate_tokens) == []
    assert facts_block(ranked[:1]).splitlines()[1:] == ["- Fresh and sure"]


def test_add_reads_the_text_or_keeps_it_as_a_preference(store: Store) -> None:
    facts = FactStore(store)
    read = facts.add("We run tests with make test.", workspace=WS, now=T0)
    assert [(f.category, f.content, f.workspace, f.origin, f.confidence) for f in read.added] == [
        ("project", "The project runs tests with make test", WS, "user", 1.0)
    ]
    kept = facts.add("answer in French", workspace=WS, now=T0)
    assert [(f.category, f.content, f.workspace) for f in kept.added] == [
        ("preference", "answer in French", None)
    ]
    scoped = facts.add("answer in French", workspace=WS, scope="workspace", category="preference")
    assert scoped.added[0].workspace == WS
    with pytest.raises(ValueError):
        facts.add("  ", workspace=WS)
    assert [f.content for f in list_facts(store)] == [
        "answer in French",
        "answer in French",
        "The project runs tests with make test",
    ]


def test_the_system_prompt_carries_relevant_facts_within_its_budget(
    store: Store, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    facts = FactStore(store)
    facts.merge([fact("preference", "The user prefers pytest over unittest", "test runner")])
    facts.merge([fact("project", "Tests run with make test", ws=str(ws), conf=0.9)])
    facts.merge([fact("project", "Not this workspace", ws="/other", conf=1.0)])
    prompt = build_system_prompt(ws, Config(), store=store)
    block = prompt[prompt.index("Remembered facts") :]
    assert block.splitlines()[1:] == [
        "- Tests run with make test",
        "- The user prefers pytest over unittest",
    ]
    none = Config(prompt=PromptConfig(facts_budget_tokens=0))
    assert "Remembered facts" not in build_system_prompt(ws, none, store=store)
