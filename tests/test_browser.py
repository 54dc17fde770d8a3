"""The app in a real browser: a newcomer's first molecules, from Home to Generate and Models.

One `streamlit run` server (in a fresh workspaces folder) and Debian's chromium, driven by
Playwright, are shared by the tests of this module. Screenshots of every page are saved in
tests/artifacts/; the time from pressing Train to the first loss point and to the first
valid molecule is printed with the label BROWSER-TIMING.
"""

from __future__ import annotations

import re
import time

import pytest
from browser_support import (
    caption,
    click_button,
    keyed,
    no_traceback,
    open_page,
    require_chromium,
    screenshot,
    settle,
)

pytestmark = pytest.mark.browser
sync_api = require_chromium()
expect = sync_api.expect

# The name the Train page suggests: the one-click start fine-tunes the shipped prior.
RUN_NAME = "Drug-like molecules (MOSES prior), fine-tuned on NCI first 5K (RDKit)"
STEPS = 200  # fine-tuning's 300 steps, cut short
BAD = b"\x00\x01PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def fresh(page, testid: str):
    """An element drawn by the script's latest run (not a stale one from the run before)."""
    return page.locator('[data-testid="stElementContainer"][data-stale="false"]').filter(
        has=page.locator(f'[data-testid="{testid}"]')
    )


def chosen(page, key: str):
    """A select box's field (its value is the option shown)."""
    return keyed(page, key).get_by_role("combobox")


def training_step(page) -> int:
    """The step number the Train page's progress bar says (-1 before it shows one)."""
    progress = page.locator('[data-testid="stProgress"]')
    if progress.count() == 0:
        return -1
    found = re.search(r"Step ([\d,]+)", progress.first.inner_text())
    return int(found.group(1).replace(",", "")) if found else -1


def wait_for_step_above(page, step: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while (now := training_step(page)) <= step:
        assert time.monotonic() < deadline, f"training stayed at step {now}"
        page.wait_for_timeout(500)
    return now


def generate_once(page) -> tuple[int, int]:
    """Press Generate; (valid molecules, molecules) from the fresh results."""
    made = fresh(page, "stCaptionContainer").filter(has=caption(page, r"^Made with seed"))
    before = made.first.inner_text() if made.count() else None
    click_button(page, "generate_button")
    if before is not None:
        made = made.filter(has_not_text=before)  # a new random seed each time
    expect(made.first).to_be_visible(timeout=60_000)
    metric = fresh(page, "stMetric").filter(has_text="Valid molecules")
    expect(metric).to_be_visible(timeout=60_000)
    value = metric.locator('[data-testid="stMetricValue"]').inner_text()
    valid, total = (int(number) for number in re.findall(r"\d+", value))
    drawing = fresh(page, "stImage").locator("img")
    expect(drawing).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    return valid, total


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\nBROWSER-TIMING: {line}")


def test_a_bookmarked_page_opens_inside_the_app(page, server):
    """First in this module: on a fresh server, a page's own address used to run the page
    file alone, without the app's navigation and sidebar."""
    from charrnn.runs.workspace import new_workspace

    token = new_workspace(server.home / "workspaces")
    page.goto(f"{server.url}/models?ws={token}")
    expect(page.locator("h1", has_text="Your models")).to_be_visible(timeout=60_000)
    navigation = page.locator('[data-testid="stSidebarNav"]')
    expect(navigation).to_contain_text("Chemistry")  # the app's titles, not file names
    expect(navigation).not_to_contain_text("streamlit app")
    expect(page).to_have_url(re.compile(rf"/models\?ws={re.escape(token)}$"))
    no_traceback(page)


def test_a_newcomer_fine_tunes_the_prior_and_draws_molecules(page, server, capsys):
    # Home: the one-click start picks NCI 5K and the shipped prior, then opens Train.
    page.goto(server.url)
    expect(page.locator("h1", has_text="Teach a small neural network")).to_be_visible(
        timeout=60_000
    )
    expect(page).to_have_url(re.compile(r"[?&]ws="))
    token = re.search(r"[?&]ws=([^&]+)", page.url).group(1)
    expect(keyed(page, "start_molecules")).to_be_visible()
    screenshot(page, "1-home")
    click_button(page, "start_molecules")
    expect(page.locator("h1", has_text="Train a model")).to_be_visible()
    expect(page.get_by_text("Corpus: NCI first 5K (RDKit)")).to_be_visible()
    expect(chosen(page, "train_init_from")).to_have_value(re.compile("MOSES prior"))
    expect(caption(page, r"^Recommended: this model already learned")).to_be_visible()

    # Train: fewer steps (Advanced settings), press Train, watch the loss curve grow.
    page.locator('[data-testid="stExpander"] summary', has_text="Advanced settings").click()
    steps = keyed(page, "train_steps_finetune").locator("input")
    steps.fill(str(STEPS))
    steps.press("Enter")
    expect(steps).to_have_value(str(STEPS))
    page.wait_for_timeout(500)  # the rerun that Enter asks for begins...
    settle(page)  # ...and ends before Train is pressed (a click mid-rerun was once lost)
    started = time.monotonic()
    click_button(page, "train_start")
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible(timeout=120_000)
    to_first_point = time.monotonic() - started
    expect(page.locator('[data-testid="stProgress"]')).to_contain_text(f"of {STEPS}")
    step = wait_for_step_above(page, training_step(page), seconds=60)

    # Pause and Resume: messages to the worker, answered on the page.
    click_button(page, "train_pause")
    expect(caption(page, r"^Paused: the model is saved")).to_be_visible(timeout=60_000)
    expect(keyed(page, "train_resume")).to_be_visible()
    paused_at = training_step(page)
    assert paused_at >= step
    click_button(page, "train_resume")
    expect(caption(page, r"^Training$")).to_be_visible(timeout=60_000)
    wait_for_step_above(page, paused_at, seconds=60)
    no_traceback(page)
    screenshot(page, "3-train")

    # Generate (through the sidebar): molecules drawn, until one of them is valid.
    open_page(page, "Generate")
    expect(page.locator("h1", has_text="Generate")).to_be_visible()
    expect(chosen(page, "generate_run")).to_have_value(re.compile(re.escape(RUN_NAME)))
    tries, valid, total = 0, 0, 0
    while valid == 0:
        assert time.monotonic() - started < 300, f"no valid molecule in {tries} tries"
        if tries:
            page.wait_for_timeout(2_000)  # the run saves a better model at its end
        valid, total = generate_once(page)
        tries += 1
    to_first_molecule = time.monotonic() - started
    first_valid = f"{valid} of {total}"

    # Generate again until the run has finished, then once more: the page then uses the
    # final model, and the choice of model survives the run's change of status.
    running = fresh(page, "stCaptionContainer").filter(has=caption(page, r"^This run is "))
    while running.count():
        assert time.monotonic() - started < 480, "the run did not finish"
        page.wait_for_timeout(3_000)
        generate_once(page)
    generate_once(page)
    no_traceback(page)
    screenshot(page, "4-generate")
    report(capsys, f"Train pressed -> first loss point on the chart: {to_first_point:.1f} s")
    report(
        capsys,
        f"Train pressed -> first valid drawn molecule: {to_first_molecule:.1f} s "
        f"({first_valid} valid, {tries} press(es) of Generate; fine-tuning the MOSES prior, "
        f"{STEPS} steps, NCI 5K, 1 worker, a pause and resume included)",
    )

    # A reload keeps the workspace (?ws= in the address): the run is still there.
    page.reload()
    expect(page).to_have_url(re.compile(rf"[?&]ws={re.escape(token)}"))
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text(f"{RUN_NAME}: finished", timeout=60_000)
    # ...and the molecules last generated, kept in the run's folder, are drawn again.
    expect(page.get_by_text(re.compile(r"^Made with seed \d+"))).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stImage"]').first).to_be_visible()
    open_page(page, "Models")
    expect(page.locator("h1", has_text="Your models")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()  # the runs
    expect(page.get_by_text("Shipped priors")).to_be_visible()  # and the priors' cards
    expect(chosen(page, "models_manage_run")).to_have_value(re.compile(re.escape(RUN_NAME)))
    no_traceback(page)
    screenshot(page, "5-models")

    # Chemistry: a check of 1,000 molecules runs as a job; its report is drawn when it ends.
    open_page(page, "Chemistry")
    expect(page.locator("h1", has_text="Chemistry")).to_be_visible()
    keyed(page, "chemistry_fcd").get_by_text("Include FCD").click()  # faster in a test
    click_button(page, "chemistry_start")
    headline = page.locator('[data-testid="stMetric"]').filter(has_text="Validity")
    expect(headline).to_be_visible(timeout=180_000)
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    expect(page.get_by_text("Every measure, explained")).to_be_visible()
    no_traceback(page)
    screenshot(page, "6-chemistry")

    # Inside: the model reads a molecule of its corpus, step by step.
    open_page(page, "Inside")
    expect(page.locator("h1", has_text="Inside the network")).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Its chance")).to_be_visible(
        timeout=60_000
    )
    expect(page.get_by_text("3. Units that track something")).to_be_visible()
    no_traceback(page)
    screenshot(page, "7-inside")


def test_a_bad_upload_shows_a_plain_error(page, server):
    page.goto(server.url)
    expect(page.locator("h1", has_text="Teach a small neural network")).to_be_visible(
        timeout=60_000
    )
    open_page(page, "Corpus")
    expect(page.locator("h1", has_text="Corpus")).to_be_visible()
    keyed(page, "corpus_source").get_by_text("Upload", exact=True).click()
    upload = keyed(page, "corpus_upload").locator('input[type="file"]')
    upload.set_input_files(files=[{"name": "bad.txt", "mimeType": "text/plain", "buffer": BAD}])
    error = page.locator('[data-testid="stAlertContentError"]')
    expect(error).to_contain_text("This looks like a binary file", timeout=60_000)
    expect(keyed(page, "use_corpus")).to_have_count(0)
    no_traceback(page)
    screenshot(page, "2-corpus")


def test_a_visitor_steers_the_prior_toward_a_goal(page, server):
    page.goto(server.url)
    expect(page.locator("h1", has_text="Teach a small neural network")).to_be_visible(
        timeout=60_000
    )
    open_page(page, "Steer")
    expect(page.locator("h1", has_text="Steer")).to_be_visible()
    expect(chosen(page, "steer_model")).to_have_value(re.compile("MOSES prior"))
    click_button(page, "steer_use_goal")  # the first goal: a drug-like sulfonamide
    expect(page.get_by_text("Must contain S(=O)(=O)N", exact=False)).to_be_visible()
    click_button(page, "steer_baseline")
    expect(page.get_by_text("Meet every part").first).to_be_visible(timeout=60_000)
    minutes = keyed(page, "steer_minutes").locator("input")
    minutes.fill("0.5")
    minutes.press("Enter")
    expect(minutes).to_have_value("0.50")
    settle(page)
    click_button(page, "steer_start")
    expect(page.get_by_text("Your steering run")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("The best molecules so far")).to_be_visible(timeout=120_000)
    screenshot(page, "8-steer-live")
    expect(caption(page, r"is a run like any other")).to_be_visible(timeout=180_000)
    no_traceback(page)
    screenshot(page, "8-steer")
    open_page(page, "Generate")
    expect(chosen(page, "generate_run")).to_have_value(re.compile("steered"))
