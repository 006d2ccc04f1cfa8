"""Voice evaluation: sentences -> the BinMoE conversation agent -> what happened in the home, in a real
Home Assistant core.

Run it with `python -m gpu_backend eval-voice` (starts a GPU tier if none is given, then runs this file
with pytest inside the Home Assistant environment, only to get HA's test harness: a real `hass` core).

Cases (benchmarks/voice_cases.py): commands sampled from Home Assistant's intent templates, BinMoE
questions, and hand-written paraphrases no template produces, each with its expected outcome (the
resulting state of the simulated home, the facts the answer must contain, or a refusal that changes
nothing). Every sentence goes through `conversation.async_converse` to the BinMoE agent, called directly
(not through a pipeline), which says in its trace which path answered: BinMoE's intents, Home
Assistant's intents, or the LLM. Results per path and overall: docs/benchmarks/voice.json.

With BINMOE_EVAL_ASSIST_DATASET set to a home-assistant-datasets checkout's `datasets/assist` folder,
`test_assist_dataset` runs that set through the same agent: the `assist_dataset` key of the same JSON file
(per-task ids, pass/fail and latency, and aggregates; none of the dataset's text) and its own section of
docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

import benchmarks_md
import custom_components.binmoe  # noqa: F401  (before HA's test helpers shadow custom_components)

from .assist_dataset import load_tasks
from .assist_runner import AssistHome, async_run_assist, summarize_assist
from .voice_cases import BINMOE_QUESTIONS, PARAPHRASES
from .voice_dev_paraphrases import DEV_PARAPHRASES
from .voice_harness import (
    async_all_cases,
    async_feed_nodes,
    async_prepare_home,
    async_run_case,
    async_template_matches,
    summarize,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load custom_components/binmoe."""


async def _binmoe_agent(hass: HomeAssistant) -> tuple[MockConfigEntry, str]:
    url, key = os.environ["BINMOE_EVAL_URL"], os.environ.get("BINMOE_EVAL_KEY") or None
    entry = MockConfigEntry(domain="binmoe", data={CONF_URL: url, CONF_API_KEY: key}, options={"temperature": 0})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    agent_id = er.async_get(hass).async_get_entity_id("conversation", "binmoe", f"{entry.entry_id}_conversation")
    assert agent_id is not None
    return entry, agent_id


def _device(entry: MockConfigEntry) -> dict[str, str]:
    info = entry.runtime_data.backend.info
    assert info is not None, "the GPU tier never answered"
    return {
        "model": info.model,
        "profile": info.profile,
        "tool_calling": info.tool_calling,
        "device": os.environ.get("BINMOE_EVAL_DEVICE", "unknown"),
    }


def _write(name: str, title: str, summary: dict[str, Any], body: str, options: str = "") -> None:
    """docs/benchmarks/<name>.json (keeping the other run's key: the fixture home's figures and
    `assist_dataset` share the file) and the docs/benchmarks.md section <name>."""
    if os.environ.get("BINMOE_BENCH_WRITE", "1") != "1":
        return
    file_name = name.removesuffix("-assist")
    old = benchmarks_md.read_json(file_name)
    if name.endswith("-assist"):
        data = {**old, "assist_dataset": summary}
    else:
        data = {**summary, **({"assist_dataset": old["assist_dataset"]} if "assist_dataset" in old else {})}
    benchmarks_md.write_json(file_name, data)
    command = f"python -m gpu_backend eval-voice --profile {summary['profile']}{options}"
    benchmarks_md.write_section(name, title, command, body)


def _table(rows: dict[str, dict[str, Any]], empty: bool = False) -> str:
    """A markdown table of the rows with sentences (and, with `empty`, a line for each row without)."""
    lines = ["| | sentences | correct | accuracy | latency p50 (ms) | p95 (ms) |", "|---|---|---|---|---|---|"]
    for name, row in rows.items():
        if empty and not row.get("sentences"):
            lines.append(f"| {name} | 0 | – | – | – | – |")
        elif row.get("sentences"):
            lines.append(
                f"| {name} | {row['sentences']} | {row['correct']} | {row['accuracy']:.0%} "
                f"| {row['latency_ms_p50']:.0f} | {row['latency_ms_p95']:.0f} |"
            )
    return "\n".join(lines)


async def test_voice_eval(hass: HomeAssistant, socket_enabled: Any) -> None:
    home = await async_prepare_home(hass)
    entry, agent_id = await _binmoe_agent(hass)
    await async_feed_nodes(hass, entry)
    matched = await async_template_matches(hass, [c.sentence for c in PARAPHRASES])
    assert not matched, f"these 'paraphrases' are template sentences: {matched}"
    cases = await async_all_cases(hass, int(os.environ.get("BINMOE_EVAL_PER_INTENT", "35")))
    results = []
    for case in cases:
        results.append(await async_run_case(hass, home, agent_id, case))
        row = results[-1]
        print(f"{'OK ' if row['correct'] else 'BAD'} {row['latency_ms']:7.0f} ms {row['path']:14} {case.sentence!r}")
    summary = {**_device(entry), **summarize(results), "results": results}
    name = "voice" if summary["profile"] == "cpu-default" else f"voice-{summary['profile']}"
    templates = len(cases) - len(BINMOE_QUESTIONS) - len(PARAPHRASES)
    body = (
        f"Model `{summary['model']}` (profile `{summary['profile']}`, tool calling: {summary['tool_calling']}) on "
        f"{summary['device']}. {len(cases)} sentences in the fixture home (`benchmarks/voice_cases.py`): "
        f"{templates} sampled from Home Assistant's intent templates, {len(BINMOE_QUESTIONS)} BinMoE questions "
        f"(bad input included), {len(PARAPHRASES)} hand-written paraphrases no template matches. Each goes to the "
        "BinMoE agent through `conversation.async_converse`; it is correct when the simulated home ends in the "
        "expected state (and nothing else changed), the reply holds the expected facts, or an impossible request "
        f"changed nothing and the reply says so. Per sentence: `docs/benchmarks/{name}.json`.\n\n"
        f"**By path** (who answered)\n\n{_table({**summary['by_path'], 'overall': summary['overall']})}\n\n"
        f"**By kind of sentence**\n\n{_table(summary['by_kind'])}"
    )
    _write(name, f"Voice agent — {summary['profile']}", summary, body)
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=2))
    assert len(results) >= 200


@pytest.mark.skipif(os.environ.get("BINMOE_EVAL_DEV") != "1", reason="only with eval-voice --dev")
async def test_voice_dev(hass: HomeAssistant, socket_enabled: Any) -> None:
    """The development paraphrases (not the evaluation's): printed, never written to docs/."""
    home = await async_prepare_home(hass)
    entry, agent_id = await _binmoe_agent(hass)
    await async_feed_nodes(hass, entry)
    results = []
    for case in DEV_PARAPHRASES:
        results.append(row := await async_run_case(hass, home, agent_id, case))
        print(f"{'OK ' if row['correct'] else 'BAD'} {row['latency_ms']:7.0f} ms {row['path']:14} {case.sentence!r}")
        if not row["correct"]:
            print(f"    {row['problem']}; reply {row['reply']!r}")
    print(json.dumps({**_device(entry), **summarize(results)}, indent=2))


@pytest.mark.skipif(not os.environ.get("BINMOE_EVAL_ASSIST_DATASET"), reason="no home-assistant-datasets checkout")
async def test_assist_dataset(hass: HomeAssistant, socket_enabled: Any) -> None:
    """Home Assistant's own LLM benchmark set, from the user's checkout, through the same agent."""
    root = Path(os.environ["BINMOE_EVAL_ASSIST_DATASET"])
    tasks = load_tasks(root)
    assert tasks, f"no tasks under {root} (expected folders with _fixtures.yaml)"
    home = AssistHome(hass)
    await home.async_setup()
    entry, agent_id = await _binmoe_agent(hass)
    results = await async_run_assist(hass, home, agent_id, tasks, progress=print)
    summary = summarize_assist(results)
    card = (
        yaml.safe_load((root / "dataset_card.yaml").read_text(encoding="utf-8"))
        if (root / "dataset_card.yaml").exists()
        else {}
    )
    source = {
        "dataset": "home-assistant-datasets, datasets/assist"
        + (f" ({card['version']})" if card.get("version") else ""),
        "dataset_commit": os.environ.get("BINMOE_EVAL_ASSIST_COMMIT") or "unknown",
        "dataset_license": "Apache-2.0 (home-assistant-datasets pyproject.toml)",
        "homes": sorted({t.home.name for t in tasks}),
        "runs_per_task": 1,
        "dataset_runs_per_task": card.get("count", 1),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
    }
    # Per task only its id (record file and place), categories, path, pass/fail and latency: no sentence,
    # reply or state of the dataset goes into this repository.
    kept = ("task", "categories", "scored", "supported", "path", "correct", "latency_ms")
    rows = [{k: r[k] for k in kept if k in r} for r in results]
    summary = {**_device(entry), **source, **summary, "results": rows}
    name = "voice-assist" if summary["profile"] == "cpu-default" else f"voice-{summary['profile']}-assist"
    run = summary["overall"].get("sentences", 0)
    body = (
        f"Model `{summary['model']}` (profile `{summary['profile']}`, tool calling: {summary['tool_calling']}) on "
        f"{summary['device']}: the `assist` set of a home-assistant-datasets checkout (commit "
        f"`{source['dataset_commit'][:12]}`; not part of this repository: pass its "
        "`datasets/assist` folder as `DIR`), homes "
        f"{', '.join(source['homes'])}, devices simulated by `benchmarks/assist_devices.py` after the dataset's "
        f"synthetic home, scored as the dataset's own evaluation scores them. {run} tasks run, each once "
        f"(the dataset card asks for {source['dataset_runs_per_task']} runs per task, as the leaderboard does); "
        f"{summary['not_scored_by_dataset']} the dataset itself does not score; {summary['unsupported']} not "
        f"simulated. Per task: key `assist_dataset` of `docs/benchmarks/{name.removesuffix('-assist')}.json`."
        f"\n\n**By path** (who answered)\n\n{_table({**summary['by_path'], 'overall': summary['overall']}, empty=True)}"
        f"\n\n**By category**\n\n{_table(summary['by_category'])}"
    )
    _write(
        name,
        f"Voice agent on the assist dataset — {summary['profile']}",
        summary,
        body,
        " --assist-dataset DIR --assist-only",
    )
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=2))
