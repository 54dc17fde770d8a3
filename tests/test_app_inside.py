"""The Inside page, driven like a visitor would: pick a text, step through it, find units."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from app_support import no_exceptions
from app_support import open_page as open_app
from test_app_generate import SMILES_CORPUS, TEXT_CORPUS, finished_run

from charrnn.runs.workspace import Workspace, new_workspace

PATTERN = ("abc " * 200 + "\n").encode()

pytestmark = pytest.mark.usefixtures("app_environment")


def workspace_with(home: Path, data: bytes, filename: str, kind: str, steps: int):
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(data, filename, 10**6)
    run_id = finished_run(space, filename, reference, kind, steps)
    space.update_choices(run=run_id)
    return token


def open_page(token: str):
    return open_app(token, "inside")


def html_of(at) -> list[str]:
    return [element.proto.body for element in at.get("html")]


def test_an_empty_workspace_is_sent_to_learn_a_pattern(home, monkeypatch, tmp_path):
    monkeypatch.setenv("CHARRNN_PRIORS", str(tmp_path))  # a server without shipped priors
    at = open_page(new_workspace(home))
    no_exceptions(at)
    assert "Learn a pattern" in at.info[0].value
    at.button(key="inside_run_go_home").click().run()
    no_exceptions(at)


def test_the_toy_pattern_shows_steps_loss_memory_and_the_cycle(home):
    at = open_page(workspace_with(home, PATTERN, "pattern.txt", "text", 150))
    no_exceptions(at)
    assert at.radio(key="inside_source").value == "From the corpus"
    at.slider(key="inside_step").set_value(6).run()
    no_exceptions(at)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert set(metrics) == {
        "The true next character",
        "Its chance",
        "Its rank",
        "Loss of this step",
    }
    chance = float(metrics["Its chance"].rstrip("%")) / 100
    loss = float(metrics["Loss of this step"])
    assert loss == pytest.approx(-math.log(chance), abs=0.01)
    worked = [text.value for text in at.text if "−ln p" in text.value]
    assert worked and "mean loss over the first 6 steps" in worked[0]
    charts = {chart.proto.id: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}
    assert len(charts) >= 5  # bars, losses, heatmap, units over time, cycle
    assert any("4. A first lesson" in header.value for header in at.subheader), (
        "a repeating text shows the cycle lesson"
    )
    assert any("repeats every 4 characters" in caption.value for caption in at.caption)
    table = at.dataframe[0].value
    assert list(table.columns) == ["detector", "what it means", "unit", "correlation"]


def test_typed_text_with_markup_stays_text_and_unknown_characters_are_explained(home):
    at = open_page(workspace_with(home, TEXT_CORPUS, "markup.txt", "text", 40))
    at.radio(key="inside_source").set_value("Type your own").run()
    at.text_input(key="inside_typed").input("<script>alert(1)</script> **bold**").run()
    no_exceptions(at)
    assert not at.error
    page = "".join(html_of(at))
    assert "<script" not in page and "&lt;" in page and "&gt;" in page  # escaped
    at.text_input(key="inside_typed").input("abc🚀").run()
    no_exceptions(at)
    assert "never saw" in at.error[0].value


def test_molecules_get_smiles_detectors_and_a_sample_can_be_read(home):
    at = open_page(workspace_with(home, SMILES_CORPUS, "mols.smi", "smiles", 120))
    no_exceptions(at)
    assert at.number_input(key="inside_line").value == 1
    at.number_input(key="inside_line").set_value(3).run()  # c1ccccc1
    no_exceptions(at)
    table = at.dataframe[0].value
    assert set(table["detector"]) & {"open_rings", "in_ring_span", "aromatic_atom"}
    at.radio(key="inside_source").set_value("A sample the model writes").run()
    no_exceptions(at)
    assert at.button(key="inside_resample")
    assert at.metric  # the sample was traced


def test_units_over_time_are_drawn_for_each_model_and_text_chosen(home):
    token = workspace_with(home, PATTERN, "pattern.txt", "text", 150)
    space = Workspace(token, home)
    reference = space.save_corpus(SMILES_CORPUS, "mols.smi", 10**6)
    molecules = finished_run(space, "mols.smi", reference, "smiles", 120)
    at = open_page(token)
    no_exceptions(at)
    pattern = at.selectbox(key="inside_run").value
    shown = []
    for model in (pattern, molecules, pattern):  # each model's own units, back and forth
        at.selectbox(key="inside_run").set_value(model).run()
        if model == molecules:
            at.number_input(key="inside_line").set_value(3).run()  # c1ccccc1: rings to track
        no_exceptions(at)
        chosen = at.multiselect[0]
        assert chosen.label == "Units over time"
        assert chosen.value, "no unit drawn: an empty chart"
        assert len(chosen.options) == len(set(chosen.options))  # each unit once
        shown.append(chosen.options)
    assert shown[0] != shown[1]
