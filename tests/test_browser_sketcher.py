"""The molecule sketcher in a real browser: a molecule set in the JSME editor becomes the
Generate page's prompt, a typed one is drawn, and the editor loads without the internet.

The molecule is set through JSME's own JavaScript API (drawing with the mouse is not what
this test is about), then the editor's Apply button is pressed, as a person would.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from browser_support import (
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

# The JSME applet the component keeps on an element above its wrapper.
EDITOR = """(wrapper) => {
    let node = wrapper;
    while (node && !node._jsmeApp) node = node.parentNode || node.host;
    return node ? node._jsmeApp : null;
}"""


def wait_for_editor(page) -> None:
    """Until the JSME editor has loaded (its JavaScript is served by the app)."""
    page.wait_for_function(
        f"() => {{ const wrapper = document.querySelector('#jsme_wrapper');"
        f" return !!(wrapper && ({EDITOR})(wrapper)); }}",
        timeout=60_000,
    )


def set_in_editor(page, smiles: str) -> None:
    """The molecule drawn in the editor, set through JSME's JavaScript API."""
    page.locator("#jsme_wrapper").evaluate(
        f"(wrapper) => ({EDITOR})(wrapper).readGenericMolecularInput({smiles!r})"
    )


def editor_smiles(page) -> str:
    """The SMILES of what the editor shows."""
    return page.locator("#jsme_wrapper").evaluate(f"(wrapper) => ({EDITOR})(wrapper).smiles()")


def test_a_drawn_molecule_becomes_the_prompt(page, server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server.url)
    expect(page.locator("h1", has_text="Teach a small neural network")).to_be_visible(
        timeout=60_000
    )
    open_page(page, "Generate")
    expect(keyed(page, "generate_run").get_by_role("combobox")).to_have_value(
        re.compile("MOSES prior")
    )
    typed = keyed(page, "generate_prompt_sm").locator("input")
    expect(typed).to_have_value("")

    # Open "Draw it": the editor loads (its JavaScript comes from this server).
    keyed(page, "generate_prompt_sm_draw").locator("summary").click()
    wait_for_editor(page)

    # Set a molecule in the editor and press its Apply button: the typed prompt follows.
    set_in_editor(page, "c1ccccc1O")
    drawn = editor_smiles(page)
    assert drawn and "c1ccccc1" in drawn, drawn
    page.locator("#jsme_apply_btn").click()
    expect(typed).to_have_value(drawn, timeout=30_000)
    settle(page)

    # A typed molecule is drawn in the editor...
    typed.fill("CCN")
    typed.press("Enter")
    page.wait_for_function(
        f"() => {{ const wrapper = document.querySelector('#jsme_wrapper');"
        f" const editor = wrapper && ({EDITOR})(wrapper);"
        f" return !!editor && editor.smiles() === 'CCN'; }}",
        timeout=30_000,
    )
    # ...and a new drawing replaces it in the field.
    set_in_editor(page, "c1ccccc1O")
    page.locator("#jsme_apply_btn").click()
    expect(typed).to_have_value(drawn, timeout=30_000)
    settle(page)

    # Generate: every molecule begins with the drawn prompt.
    click_button(page, "generate_button")
    download = keyed(page, "generate_download_csv").get_by_role(
        "button", name=re.compile("Download with properties")
    )
    expect(download).to_be_visible(timeout=60_000)
    settle(page)
    with page.expect_download() as pressed:
        download.click()
    rows = list(csv.DictReader(io.StringIO(open(pressed.value.path(), encoding="utf-8").read())))
    assert len(rows) == 16
    assert all(row["SMILES"].startswith(drawn) for row in rows), [r["SMILES"] for r in rows]
    assert sum(row["valid"] in ("True", "true", "1", "yes") for row in rows) > 0
    no_traceback(page)
    screenshot(page, "9-sketcher")

    # Nothing was fetched from anywhere but this server (JSME is bundled).
    outside = [url for url in requested if not url.startswith((server.url, "blob:", "data:"))]
    assert not outside, outside


def test_a_drawn_molecule_becomes_a_similarity_target(page, server):
    page.goto(server.url)
    expect(page.locator("h1", has_text="Teach a small neural network")).to_be_visible(
        timeout=60_000
    )
    open_page(page, "Steer")
    keyed(page, "steer_target_draw").locator("summary").click()
    wait_for_editor(page)
    set_in_editor(page, "c1ccccc1O")
    drawn = editor_smiles(page)
    page.locator("#jsme_apply_btn").click()
    target = keyed(page, "steer_target").locator("input")
    expect(target).to_have_value(drawn, timeout=30_000)
    settle(page)
    kind = keyed(page, "steer_add").get_by_role("combobox").first
    page.wait_for_timeout(500)  # the rerun that Apply asked for has begun...
    settle(page)  # ...and ended
    options = page.get_by_role("option")
    for _ in range(3):  # a click while the page redraws may not open the list
        kind.click()
        try:
            options.first.wait_for(timeout=5_000)
            break
        except sync_api.TimeoutError:
            page.keyboard.press("Escape")
    options.filter(has_text=re.compile("^Similarity")).click()
    settle(page)
    click_button(page, "steer_add_part")
    expect(page.get_by_text(drawn, exact=False).first).to_be_visible(timeout=30_000)
    expect(keyed(page, "steer_remove_0")).to_be_visible()
    settle(page)
    assert editor_smiles(page) == drawn  # the part added above did not blank the editor
    no_traceback(page)
    screenshot(page, "9-sketcher-steer")
