"""Train: pick a size, press Train, and watch the model learn (loss, progress, samples).

Training runs in a worker process; this page reads the run folder and sends it messages.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app import engines as engine_parts
from app import recipe_link, train_form, ui
from charrnn.core.model import DEFAULT_PRESET, PRESETS
from charrnn.core.representation import selfies_to_smiles, tokenizer_of
from charrnn.core.train_config import TrainConfig
from charrnn.errors import UserError
from charrnn.limits import budget_text
from charrnn.runs import report
from charrnn.runs.config import read_run_config
from charrnn.runs.folder import RunError
from charrnn.runs.plan import (
    DEFAULT_CHEM_EVERY,
    DEFAULT_STEPS,
    FINETUNE_CHEM_EVERY,
    FINETUNE_STEPS,
    FINETUNE_WARMUP_STEPS,
    RunChoice,
    base_model_config,
    plan_run,
    planned_budget,
)
from charrnn.runs.priors import is_prior, shipped_priors
from charrnn.runs.status import ACTIVE, RunStatus, read_status
from charrnn.runs.train_ranges import TRAIN_NUMBERS, default_minutes, minutes_range
from charrnn.runs.train_view import (
    REFRESH_SECONDS,
    default_run_name,
    loss_text,
    progress_text,
    queue_text,
    resume_label,
    status_text,
    time_cap_text,
    trained_runs,
    unused_name,
)

PRESET_LINES = {
    "tiny": "1 layer of 128 memory cells. Learns in a minute or two: spelling and short "
    "patterns. Best for a first try.",
    "small": "2 layers of 256. A few minutes: words, punctuation and simple molecules.",
    "medium": "3 layers of 512. About half an hour on a laptop: the best results, for "
    "large corpora.",
}
NEW_MODEL = ""  # the "Start from" choice of a new model (run ids are never empty)
space = ui.workspace()
runner = ui.job_runner()
st.title("Train a model")
cluster_problem = ui.cluster_notice(runner)
recipe_link.open_recipe(space)  # a recipe link fills the settings below (and starts nothing)
recipe_link.show_notice()


def settings_form(corpus: dict, busy: bool) -> None:
    """What to start from, the size preset, the advanced settings and the Train button."""
    smiles = corpus.get("kind") == "smiles"
    st.text(f"Corpus: {corpus['name']}")
    representation = train_form.representation_choice() if smiles else "smiles"
    selfies = representation == "selfies"
    names = start_choices(smiles, priors=not selfies)
    init_from = start_from(names)
    prior = is_prior(init_from)
    presets = list(PRESETS)
    chosen = space.choices.get("preset")
    preset = chosen if chosen in presets else DEFAULT_PRESET
    if not init_from:
        preset = st.radio(
            "Model size",
            presets,
            index=presets.index(preset),
            format_func=str.capitalize,
            captions=[PRESET_LINES.get(name, "") for name in presets],
            key="train_preset",
        )
    base = PRESETS[preset]
    with st.expander("Advanced settings"):
        engine = engine_parts.engine_choice(corpus, preset, base) if not init_from else "torch"
        left, middle, right = st.columns(3)
        shape = base_model_config(init_from, space) if init_from else None
        model, numbers = train_form.size_numbers(
            preset,
            engine,
            (left, middle, right),
            finetune=prior,
            fixed=shape.to_json() if shape else None,
        )
        if shape:
            model = {}  # the model started from decides its shape
        train = training_limits(right, preset, smiles, numbers, finetune=prior)
        if init_from:
            train = replace(train, freeze_layers=frozen_layers(left))
    choice = RunChoice(
        corpus=str(corpus.get("reference", "")),
        train=train,
        preset=preset,
        model=model,
        smiles_column=corpus.get("smiles_column"),
        drop_invalid=bool(corpus.get("drop_invalid")),
        tokenizer=tokenizer_of(representation) if smiles else "auto",
        engine=engine,
        init_from=init_from,
    )
    base_name = names[init_from].split(": ", 1)[-1] if init_from else None
    taken = [run.name for run in space.runs()]
    default_name = unused_name(default_run_name(preset, corpus["name"], base_name), taken)
    name = st.text_input("Name of the run", placeholder=default_name, key="train_run_name")
    budget = planned_budget(space, choice)
    st.caption(budget_text(budget) + time_cap_text(space.server_settings.job_minutes))
    if budget.problem:
        st.warning(budget.problem, icon=":material/memory:")
    if busy:
        st.caption("Your current run is still training: stop it or let it finish first.")
    if st.button(
        "Train",
        type="primary",
        key="train_start",
        icon=":material/play_arrow:",
        disabled=busy or bool(budget.problem or cluster_problem),
    ):
        try:
            with st.spinner("Reading the corpus..."):
                config = plan_run(choice, space)
            run_id = space.create_run(name or default_name, config)
            runner.submit(space.run_dir(run_id))
            space.update_choices(run=run_id, model=None)  # the new run is the one to use
            recipe_link.forget_notice()
        except UserError as error:
            st.error(str(error))
        else:
            st.rerun()  # the sidebar, drawn before the run existed, names it too
    recipe_link.share(corpus, choice, representation, name)
    if smiles and not init_from:  # both start new: the shipped priors write SMILES only
        lesson_name = name or default_run_name(preset, corpus["name"], None)
        disabled = busy or bool(budget.problem or cluster_problem)
        train_form.representation_lesson(space, runner, choice, lesson_name, disabled)


def start_choices(smiles: bool, priors: bool = True) -> dict[str, str]:
    """What a new run can start from: for molecules the shipped priors first (the default;
    not for SELFIES: they write SMILES), then a new model (""), then the workspace's runs
    ({reference: label})."""
    choices: dict[str, str] = {}
    if smiles and priors:
        choices |= {prior.reference: prior.label for prior in shipped_priors()}
    choices[NEW_MODEL] = "A new, untrained model"
    labels = report.run_labels(trained_runs(space))  # two runs of one name told apart
    choices |= {run_id: f"Model: {label}" for run_id, label in labels.items()}
    return choices


def start_from(names: dict[str, str]) -> str | None:
    """The "Start from" choice: a shipped prior, a new model, or a run to fine-tune."""
    options = list(names)
    remembered = space.choices.get("start_from")
    init_from = (
        st.selectbox(
            "Start from",
            options,
            index=options.index(remembered) if remembered in options else 0,
            format_func=names.get,
            help="Fine-tuning: continue training a model that has already learned, on this corpus.",
            key="train_init_from",
        )
        or None
    )  # NEW_MODEL: nothing to start from
    if is_prior(init_from):
        st.caption(
            "Recommended: this model already learned how molecules are written (SMILES) from "
            "about 1.5 million molecules, so a minute of fine-tuning on yours gives mostly "
            "valid molecules in the style of your corpus; a new model must learn SMILES from "
            "scratch. Symbols it never saw are added and learned from your corpus."
        )
    elif init_from:
        st.caption("The model keeps the size it has: the size settings are not used.")
    return init_from


def frozen_layers(column) -> int:
    """How many of the lowest layers fine-tuning keeps as they are."""
    frozen = TRAIN_NUMBERS["freeze_layers"]
    return int(
        column.number_input(
            frozen.label,
            frozen.lowest,
            frozen.highest,
            0,
            key="train_freeze_layers",
            help="Keep the lowest layers of memory cells exactly as the model to start from "
            "learned them; only the layers above (and the symbols) change. Try 1 on a very "
            "small corpus, so the model keeps more of what it knew.",
        )
    )


def training_limits(
    column, preset: str, smiles: bool, numbers: dict, finetune: bool = False
) -> TrainConfig:
    """The TrainConfig of the form: its numbers, a step or time limit, and for SMILES the
    augmentation and chemistry checks (text has neither); ``finetune``: a prior's defaults."""
    kind = "finetune" if finetune else preset
    by_time = column.radio("Train for", ["steps", "minutes"], key="train_limit", horizontal=True)
    job_minutes = space.server_settings.job_minutes  # the server's time cap
    if by_time == "minutes":
        most = minutes_range(job_minutes)
        minutes = column.number_input(
            most.label, most.lowest, most.highest, default_minutes(job_minutes), key="train_minutes"
        )
        limits = {"steps": None, "minutes": minutes}
    else:
        most_steps = FINETUNE_STEPS if finetune else DEFAULT_STEPS[preset]
        steps_range = TRAIN_NUMBERS["steps"]
        steps = column.number_input(
            steps_range.label,
            steps_range.lowest,
            steps_range.highest,
            most_steps,
            step=steps_range.step,
            key=f"train_steps_{kind}",
        )
        limits = {"steps": steps}
    if finetune:
        limits["warmup_steps"] = FINETUNE_WARMUP_STEPS
    if not smiles:
        return TrainConfig(**numbers, **limits)
    augment = st.checkbox(
        "SMILES augmentation: also show each molecule written in other valid ways",
        key="train_augment",
    )
    every = TRAIN_NUMBERS["chem_every"]
    chem_every = st.number_input(
        f"{every.label} (0: never)",
        every.lowest,
        every.highest,
        FINETUNE_CHEM_EVERY if finetune else DEFAULT_CHEM_EVERY[preset],
        step=every.step,
        key=f"train_chem_every_{kind}",
        help="Samples molecules now and then and counts how many are valid, unique and new.",
    )
    canonical = st.checkbox(
        "Spell each molecule the standard way (RDKit canonical SMILES)",
        value=finetune,
        key=f"train_canonical_{kind}",
        help="One molecule can be written many ways. The shipped priors learned the standard "
        "spelling: fine-tuning one on molecules written otherwise first has to unlearn it.",
    )
    return TrainConfig(
        **numbers, **limits, augment=augment, canonical=canonical, chem_every=chem_every
    )


def controls(run, folder) -> None:
    """Pause / Resume / Stop (messages to the worker) and a new learning rate."""
    columns = st.columns([1, 1, 1, 3])
    if run.status == RunStatus.QUEUED:
        if columns[0].button("Cancel", key="train_cancel", icon=":material/close:"):
            try:
                runner.cancel(folder)
            except UserError as error:  # the course's cluster cannot be reached
                st.error(str(error))
                return
            st.rerun()
        return
    if run.status == RunStatus.RUNNING and columns[0].button(
        "Pause", key="train_pause", icon=":material/pause:"
    ):
        space.send(run.id, "pause")
        st.toast("Pausing after this step...")
    if run.status == RunStatus.PAUSED and columns[0].button(
        "Resume", key="train_resume", icon=":material/play_arrow:"
    ):
        space.send(run.id, "resume")
        st.toast("Resuming...")
    if columns[1].button("Stop", key="train_stop", icon=":material/stop:"):
        space.send(run.id, "stop")
        st.toast("Stopping and saving the model...")
    with columns[3].popover("Change the learning rate"):
        rate = st.number_input(
            "New learning rate",
            1e-6,
            1.0,
            read_run_config(folder).train.learning_rate,
            1e-4,
            format="%.5f",
            key="train_lr_value",
        )
        if st.button("Apply", key="train_lr_apply"):
            space.send(run.id, learning_rate=float(rate))
            st.toast(f"The learning rate becomes {rate:g} from the next step.")


def charts(events: list[dict], total_steps: int | None, loss_line: str | None) -> None:
    """The loss curve with ``loss_line`` (the loss in numbers) under it and, for molecules,
    the share of valid / unique / new samples; both span the whole run (step 0 to its last),
    so that they also show how far it has come."""
    losses = report.loss_frame(events)
    if losses.empty:
        st.caption("The loss curve appears after the first steps.")
        return
    whole_run = {}
    if isinstance(total_steps, int | float) and total_steps > 0:
        whole_run["xaxis_range"] = [0, max(int(total_steps), int(losses["step"].max()))]
    ui.line_chart(
        losses,
        "step",
        "loss",
        "curve",
        height=320,
        yaxis_title="loss (lower is better)",
        legend_title_text="",
        **whole_run,
    )
    if loss_line:
        st.caption(loss_line)
    chemistry = report.chem_frame(events)
    if not chemistry.empty:
        ui.line_chart(
            chemistry,
            "step",
            "percent",
            "measure",
            height=280,
            yaxis_title="% of sampled molecules",
            yaxis_range=[0, 100],
            **whole_run,
        )


def live_run(run_id: str, was: str) -> None:
    """The current run as it is now (redrawn every REFRESH_SECONDS of its status)."""
    try:
        run = space.summary(run_id)
        folder = space.run_dir(run_id)
    except RunError:
        return
    if REFRESH_SECONDS.get(run.status) != REFRESH_SECONDS.get(was):
        st.rerun()  # e.g. started, finished or failed: redraw at the new pace (or none)
    st.subheader(f"{ui.STATUS_ICONS.get(run.status, '')} {report.escape_markdown(run.name)}")
    st.caption(status_text(run.status))
    config = read_run_config(folder)
    for sentence in (config.added_tokens_sentence(), config.unwritable_sentence()):
        if sentence:
            st.caption(sentence)
    events = space.metrics(run_id)
    now = report.latest_progress(events)
    if run.status == RunStatus.QUEUED:
        try:
            st.info(queue_text(runner.position(folder), runner.expected_wait(folder)))
        except UserError as error:  # the course's cluster cannot be reached
            st.warning(str(error))
    elif run.status in (RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.STOPPED):
        note = read_status(folder).get("note")
        if note:
            st.info(report.escape_markdown(note))
        if run.status == RunStatus.FAILED:
            reason = report.escape_markdown(run.error or "unknown")
            st.error(f"Training stopped because of a problem: {reason}")
        if st.button(resume_label(run.status), key="train_resume_run", icon=":material/replay:"):
            try:
                runner.submit(folder)
            except UserError as error:  # the course's cluster cannot be reached
                st.error(str(error))
            else:
                st.rerun()
    elif run.status == RunStatus.FINISHED:
        st.success("Done. Try the model on the Generate page.")
        if st.button("Generate with this model", key="train_to_generate", type="primary"):
            st.switch_page("pages/generate.py")
    if events:
        smiles = bool(now.tokens_per_second) and config.corpus_kind == "smiles"
        st.progress(now.fraction, text=progress_text(now, run.status, smiles))
    if run.status in ACTIVE:
        controls(run, folder)
    charts(events, now.total_steps, loss_text(now, run.status, config.corpus_kind == "smiles"))
    hint = report.training_hint(events)
    if hint:
        st.info(hint, icon=":material/lightbulb:")
    if now.samples:
        st.markdown("**What the model writes now**")
        selfies = config.tokenizer == "selfies"
        for sample in now.samples:  # a SELFIES model's, with the SMILES it spells
            shown = f"{sample}\n= {selfies_to_smiles(sample) or '(no atom)'}" if selfies else sample
            st.code(shown, language=None, wrap_lines=True)


corpus = ui.current_corpus(space)
if corpus is None:
    st.info(
        "First choose what the model should learn from: a built-in corpus or a file of your own."
    )
    if st.button("Choose a corpus", key="train_to_corpus", type="primary"):
        st.switch_page("pages/corpus.py")
current = ui.current_run(space)
if corpus is not None:
    # One run at a time from this page: a second press would queue an identical run.
    settings_form(corpus, busy=current is not None and current.status in ACTIVE)
if current is not None:
    st.divider()
    refresh = REFRESH_SECONDS.get(current.status)
    st.fragment(live_run, run_every=refresh)(current.id, current.status)
