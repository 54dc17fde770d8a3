"""Recipe links: the Train page's settings go into a short query and come back the same;
what a link cannot hold is explained and left at the Train page's own value."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

from charrnn.core.model import PRESETS
from charrnn.runs.plan import DEFAULT_STEPS, FINETUNE_STEPS
from charrnn.runs.recipe import Recipe, defaults, read_recipe, recipe_query
from charrnn.runs.train_ranges import TRAIN_NUMBERS


def through_a_url(query: dict[str, str]) -> dict[str, str]:
    """What a browser hands back of a link's query."""
    return dict(parse_qsl(urlencode(query)))


def test_a_new_model_round_trips_with_only_its_changes_in_the_link():
    model = {**PRESETS["tiny"], "cell": "gru", "hidden_size": 96, "dropout": 0.25}
    _, train = defaults("tiny", None, "torch")
    train |= {"steps": 500, "batch_size": 16, "learning_rate": 0.0012, "weight_decay": 0.05}
    query = recipe_query("toy-pattern", "tiny", None, "smiles", train, model, name="  Lesson  1 ")
    assert query == {
        "recipe": "1",
        "corpus": "toy-pattern",
        "preset": "tiny",
        "cell": "gru",
        "hidden": "96",
        "dropout": "0.25",
        "steps": "500",
        "batch": "16",
        "lr": "0.0012",
        "decay": "0.05",
        "name": "Lesson 1",
    }
    recipe = read_recipe(through_a_url(query))
    assert recipe.problems == ()
    assert (recipe.corpus, recipe.preset, recipe.init_from, recipe.engine) == (
        "toy-pattern",
        "tiny",
        None,
        "torch",
    )
    assert recipe.model == model
    assert recipe.train == train
    assert recipe.name == "Lesson 1"
    assert Recipe.from_json(json.loads(json.dumps(recipe.to_json()))) == recipe


def test_the_defaults_make_the_shortest_link():
    model, train = defaults("small", None, "torch")
    query = recipe_query("python-docs", "small", None, "smiles", train, model)
    assert query == {"recipe": "1", "corpus": "python-docs"}
    recipe = read_recipe(query)
    assert recipe.train["steps"] == DEFAULT_STEPS["small"]
    assert recipe.model == PRESETS["small"]


def test_molecules_from_a_shipped_prior_and_by_minutes_round_trip():
    _, train = defaults("small", "prior:moses", "torch")
    train |= {"steps": None, "minutes": 2.5, "augment": True, "chem_every": 25, "freeze_layers": 1}
    query = recipe_query("nci-5k", "small", "prior:moses", "smiles", train, {})
    assert "start" not in query  # molecules start from the shipped prior unless told
    assert query["minutes"] == "2.5" and "steps" not in query
    recipe = read_recipe(through_a_url(query))
    assert recipe.problems == ()
    assert recipe.init_from == "prior:moses"
    assert recipe.model == {}  # the prior decides the model's size
    assert recipe.train == train
    assert read_recipe({"recipe": "1", "corpus": "nci-5k"}).train["steps"] == FINETUNE_STEPS


def test_a_new_selfies_model_of_molecules_round_trips():
    model, train = defaults("tiny", None, "torch")
    query = recipe_query("nci-5k", "tiny", None, "selfies", train, model)
    assert query["rep"] == "selfies"
    recipe = read_recipe(through_a_url(query))
    assert (recipe.representation, recipe.init_from, recipe.problems) == ("selfies", None, ())
    smiles_new = recipe_query("nci-5k", "tiny", None, "smiles", train, model)
    assert smiles_new["start"] == "new"
    assert read_recipe(smiles_new).init_from is None


def test_the_numpy_engine_keeps_its_own_learning_rate():
    model, train = defaults("tiny", None, "numpy")
    query = recipe_query("toy-pattern", "tiny", None, "smiles", train, model, engine="numpy")
    assert "lr" not in query
    recipe = read_recipe(query)
    assert recipe.engine == "numpy"
    assert recipe.train["learning_rate"] == train["learning_rate"]


def test_the_workspace_token_is_never_part_of_a_recipe():
    model, train = defaults("small", None, "torch")
    query = recipe_query("toy-pattern", "small", None, "smiles", train, model)
    assert "ws" not in query
    recipe = read_recipe({**query, "ws": "a-secret-token"})
    assert recipe.problems == ()  # the app's own parameter: neither used nor complained about
    assert "a-secret-token" not in json.dumps(recipe.to_json())


def test_a_run_of_ones_own_workspace_cannot_travel():
    model, train = defaults("small", None, "torch")
    query = recipe_query("toy-pattern", "small", "r-20250101-abcdef", "smiles", train, model)
    assert "r-20250101" not in json.dumps(query)


def test_unknown_names_and_values_out_of_range_are_explained_and_left_at_defaults():
    recipe = read_recipe(
        {
            "recipe": "1",
            "corpus": "toy-pattern",
            "preset": "tiny",
            "steps": "999999999",
            "lr": "fast",
            "layers": "2.5",
            "dropout": "nan",
            "cell": "transformer",
            "colour": "blue",
            "batch": "64",
        }
    )
    model, train = defaults("tiny", None, "torch")
    assert recipe.corpus == "toy-pattern" and recipe.preset == "tiny"
    assert recipe.train == {**train, "batch_size": 64}  # the good value is kept
    assert recipe.model == model
    text = "\n".join(recipe.problems)
    assert len(recipe.problems) == 6
    assert "“colour”" in text and "this app does not know" in text
    assert "Steps: 999,999,999 is outside what the Train page accepts (10 to 200,000)" in text
    assert f"It stays {DEFAULT_STEPS['tiny']:,}." in text
    assert "Learning rate: “fast” is not a number" in text
    assert "Layers: “2.5” is not a whole number" in text
    assert "Dropout: nan is outside" in text
    assert "“transformer”" in text


def test_bad_choices_are_explained():
    recipe = read_recipe(
        {"corpus": "my-secret-file", "preset": "huge", "start": "prior:nowhere", "engine": "gpu"}
    )
    assert (recipe.corpus, recipe.preset, recipe.init_from, recipe.engine) == (
        None,
        "small",
        None,
        "torch",
    )
    assert len(recipe.problems) == 4
    numpy_small = read_recipe({"preset": "small", "engine": "numpy"})
    assert numpy_small.engine == "torch"
    assert "tiny size only" in numpy_small.problems[0]
    text_prior = read_recipe({"corpus": "toy-pattern", "start": "moses"})
    assert text_prior.init_from is None
    assert "cannot start a model of text" in text_prior.problems[0]


def test_the_ranges_are_the_train_pages_and_the_time_cap_is_the_servers():
    steps = TRAIN_NUMBERS["steps"]
    assert read_recipe({"steps": str(steps.highest)}).problems == ()
    assert read_recipe({"steps": str(steps.lowest - 1)}).problems
    assert read_recipe({"minutes": "30"}, job_minutes=60).train["minutes"] == 30.0
    capped = read_recipe({"minutes": "90"}, job_minutes=60)
    assert capped.train["minutes"] is None and capped.train["steps"] == DEFAULT_STEPS["small"]
    assert "0.5 to 60" in capped.problems[0]


def test_long_values_and_many_unknown_names_are_refused_briefly():
    params = {f"junk{number}": "x" for number in range(50)} | {"name": "n" * 5000}
    recipe = read_recipe(params)
    assert recipe.name == ""
    assert len(recipe.problems) == 2
    assert "and 45 more" in recipe.problems[1]
    assert all(len(problem) < 300 for problem in recipe.problems)


def test_line_breaks_in_a_link_never_reach_a_message():
    """A line break in a value or a name could turn a message's rest into a heading or a
    rule (Markdown's --- and ===) where the page shows it."""
    recipe = read_recipe({"preset": "huge\n---\n# heading", "bad\n===\nkey": "1"})
    assert len(recipe.problems) == 2
    assert not any("\n" in problem for problem in recipe.problems)
    assert "huge --- # heading" in recipe.problems[1]
