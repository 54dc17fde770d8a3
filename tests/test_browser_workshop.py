"""A workshop room in a real browser: bad files get plain messages, people stay apart.

One `streamlit run` server and Debian's chromium (tests/browser_support.py). A bad corpus,
a 100 MB file and a pickle posing as a model are refused with a message a person can act
on; two visitors (two browser contexts, two workspaces) never see each other's runs.
Screenshots go to tests/artifacts/workshop-*.png.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import struct
import zipfile
from pathlib import Path

import pytest
from browser_support import (
    click_button,
    keyed,
    no_traceback,
    open_page,
    process_memory,
    require_chromium,
    reset_peak,
    screenshot,
    settle,
    visitor,
)
from test_runs import finished_run

from charrnn.runs.transfer import export_run
from charrnn.runs.workspace import Workspace, new_workspace

pytestmark = pytest.mark.browser
sync_api = require_chromium()
expect = sync_api.expect

HOME_TITLE = "Teach a small neural network"


@pytest.fixture(scope="module")
def model_zip(tmp_path_factory) -> bytes:
    """A tiny trained model, as the Models page's Download button gives it."""
    root = tmp_path_factory.mktemp("model-source")
    space = Workspace(new_workspace(root), root)
    return export_run(space.run_dir(finished_run(space, "source", steps=10)))


def arrive(page, server) -> str:
    """Open the app's address; returns the workspace token the app put in the URL."""
    page.goto(server.url)
    expect(page.locator("h1", has_text=HOME_TITLE)).to_be_visible(timeout=60_000)
    expect(page).to_have_url(re.compile(r"[?&]ws="))
    return re.search(r"[?&]ws=([^&]+)", page.url).group(1)


def error_box(page):
    return page.locator('[data-testid="stAlertContentError"]')


def add_model(page, name: str, data: bytes) -> None:
    """Upload a file on the Models page and press "Add this model"."""
    upload = keyed(page, "models_upload_model").locator('input[type="file"]')
    upload.set_input_files(files=[{"name": name, "mimeType": "application/zip", "buffer": data}])
    # The button names the file: once it names this one, the page has redrawn with it
    # (a button left from an earlier upload would add that file instead).
    expect(keyed(page, "models_import")).to_contain_text(f"Add {Path(name).stem} to my models")
    click_button(page, "models_import")


def model_choices(page) -> list[str]:
    """The runs the Models page offers to manage (the names this visitor can see)."""
    settle(page)
    options = page.get_by_role("option")
    for _ in range(3):  # a click while the page redraws may not open the list
        keyed(page, "models_manage_run").get_by_role("combobox").click()
        try:
            options.first.wait_for(timeout=5_000)
            break
        except sync_api.TimeoutError:
            page.keyboard.press("Escape")
    names = [text.strip() for text in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return names


def test_bad_corpus_files_get_plain_messages_and_a_good_one_still_works(page, server, tmp_path):
    token = arrive(page, server)
    open_page(page, "Corpus")
    keyed(page, "corpus_source").get_by_text("Upload", exact=True).click()
    upload = keyed(page, "corpus_upload").locator('input[type="file"]')

    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:  # 100 MB, sparse: the browser refuses it by its size
        handle.truncate(100 * 1024 * 1024)
    upload.set_input_files(str(big))
    refused = keyed(page, "corpus_upload").locator('[data-testid="stFileChip"][aria-invalid=true]')
    expect(refused).to_contain_text("big.txt", timeout=30_000)
    info = page.locator('[data-testid="stAlertContentInfo"]')  # the page says where to look
    expect(info).to_contain_text("up to 50 MB")
    expect(info).to_contain_text("marked in red was not accepted")
    refused.hover()  # and Streamlit says why
    expect(page.get_by_role("tooltip")).to_contain_text("File must be 50.0MB or smaller")
    no_traceback(page)
    screenshot(page, "workshop-1-corpus-100mb")
    keyed(page, "corpus_upload").get_by_role("button", name="Remove big.txt").click()

    latin = "Café crème brûlée\n".encode("latin-1") * 20
    upload.set_input_files(files=[{"name": "menu.txt", "mimeType": "text/plain", "buffer": latin}])
    expect(error_box(page)).to_contain_text("The file is not UTF-8 text", timeout=60_000)
    expect(error_box(page)).to_contain_text("save it with the UTF-8 encoding")
    expect(keyed(page, "use_corpus")).to_have_count(0)
    no_traceback(page)
    screenshot(page, "workshop-2-corpus-not-utf8")

    # A molecules file after a text one is read as molecules, and nothing ticked for an
    # earlier file stays ticked for the next one.
    smiles_file(upload, "first.smi", b"CCO\nC1CC\nc1ccccc1\n")
    expect(page.get_by_text("Molecules RDKit can read")).to_be_visible(timeout=60_000)
    leave_out = keyed(page, "drop_invalid").locator("input[type=checkbox]")
    expect(leave_out).not_to_be_checked()
    keyed(page, "drop_invalid").locator("label").click()
    expect(leave_out).to_be_checked()
    smiles_file(upload, "good.smi", b"CCO\nc1ccccc1\nC1CC\nCC(=O)O\n")
    readable = page.locator('[data-testid="stMetric"]', has_text="Molecules RDKit can read")
    expect(readable.locator('[data-testid="stMetricValue"]')).to_have_text("3")  # of 4 lines
    expect(leave_out).not_to_be_checked()
    expect(keyed(page, "use_corpus").locator("button")).to_be_disabled()
    keyed(page, "drop_invalid").locator("label").click()
    click_button(page, "use_corpus")
    expect(page.get_by_text("This is your corpus now")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("good.smi")
    settings = json.loads(next(server.home.glob(f"workspaces/{token}/workspace.json")).read_text())
    assert settings["corpus"]["kind"] == "smiles" and settings["corpus"]["drop_invalid"]
    no_traceback(page)


def smiles_file(upload, name: str, data: bytes) -> None:
    upload.set_input_files(files=[{"name": name, "mimeType": "text/plain", "buffer": data}])


def test_a_pickle_posing_as_a_model_is_refused_in_plain_words(page, server, model_zip):
    arrive(page, server)
    open_page(page, "Models")
    add_model(page, "model.zip", pickle.dumps({"weights": [1.0, 2.0]}))
    expect(error_box(page)).to_contain_text("This is not a model file from charrnn")
    expect(error_box(page)).to_contain_text("Download button")
    no_traceback(page)
    screenshot(page, "workshop-3-models-pickle")
    add_model(page, "a good model.zip", model_zip)  # the next, normal upload works
    expect(page.get_by_text("Added a good model")).to_be_visible(timeout=60_000)
    no_traceback(page)


def test_two_people_never_see_each_others_runs(browser, server, model_zip):
    (alice_context, alice), (bob_context, bob) = visitor(browser), visitor(browser)
    try:
        alice_token, bob_token = arrive(alice, server), arrive(bob, server)
        assert alice_token != bob_token
        for person, name in ((alice, "alice model"), (bob, "bob model")):
            open_page(person, "Models")
            add_model(person, f"{name}.zip", model_zip)
            expect(person.get_by_text(f"Added {name}")).to_be_visible(timeout=60_000)
        alice.reload()  # what Alice sees now that Bob has a model too
        expect(alice.locator("h1", has_text="Your models")).to_be_visible(timeout=60_000)
        assert model_choices(alice) == ["alice model"]
        assert model_choices(bob) == ["bob model"]
        for person, other in ((alice, "bob model"), (bob, "alice model")):
            open_page(person, "Generate")
            expect(person.locator("h1", has_text="Generate")).to_be_visible()
            expect(person.get_by_text(other)).to_have_count(0)
            no_traceback(person)
        screenshot(alice, "workshop-4-alice-generate")
        screenshot(bob, "workshop-5-bob-generate")
    finally:
        alice_context.close()
        bob_context.close()


def test_a_long_smiles_line_and_a_huge_model_description_leave_the_room_standing(browser, server):
    """Two attacks from issue 12, as a participant would make them: a .smi file of one
    40 KB unclosed branch, and a zip of a few hundred bytes describing a 4096-wide LSTM.
    Each gets a plain message, the server's memory stays within bounds, and another
    visitor's page still answers."""
    (attacker_context, attacker), (other_context, other) = visitor(browser), visitor(browser)
    try:
        arrive(other, server)
        arrive(attacker, server)
        open_page(attacker, "Corpus")
        keyed(attacker, "corpus_source").get_by_text("Upload", exact=True).click()
        upload = keyed(attacker, "corpus_upload").locator('input[type="file"]')
        before = reset_peak(server.process.pid)
        smiles_file(upload, "long.smi", b"C(" * 20_000 + b"\n")
        expect(error_box(attacker)).to_contain_text("too long", timeout=120_000)
        no_traceback(attacker)
        added = process_memory(server.process.pid)["VmHWM"] - before
        assert added < 300 * 1024**2, f"the upload added {added / 1024**2:.0f} MB"
        screenshot(attacker, "workshop-6-corpus-long-line")

        open_page(attacker, "Models")
        before = reset_peak(server.process.pid)
        add_model(attacker, "huge.zip", huge_description_zip())
        expect(error_box(attacker)).to_contain_text("4,096", timeout=120_000)
        no_traceback(attacker)
        added = process_memory(server.process.pid)["VmHWM"] - before
        assert added < 300 * 1024**2, f"the model upload added {added / 1024**2:.0f} MB"
        screenshot(attacker, "workshop-7-models-huge-description")

        other.reload()
        expect(other.locator("h1", has_text=HOME_TITLE)).to_be_visible(timeout=30_000)
        open_page(other, "Corpus")
        expect(other.locator("h1", has_text="Corpus")).to_be_visible(timeout=30_000)
        no_traceback(other)
    finally:
        attacker_context.close()
        other_context.close()


def huge_description_zip(hidden: int = 4096, layers: int = 3) -> bytes:
    """A zip of a few hundred bytes whose checkpoint describes a huge LSTM and holds no weights."""
    description = {
        "format": "charrnn-checkpoint-1",
        "model_config": dict(
            vocab_size=24, cell="lstm", embedding_size=64, hidden_size=hidden, layers=layers
        ),
        "vocabulary": {
            "tokens": ["<pad>", "<s>", "</s>", *"CNOcno()=#123456789[]"],
            "tokenizer": "char",
            "line_based": True,
        },
        "step": 1,
    }
    header = json.dumps({"__metadata__": {"charrnn": json.dumps(description)}}).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("checkpoint.safetensors", struct.pack("<Q", len(header)) + header)
    return buffer.getvalue()
