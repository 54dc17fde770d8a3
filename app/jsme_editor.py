"""The JSME molecule editor as a Streamlit component that never leaves this server.

streamlit-jsme ships JSME's JavaScript and serves it from the page itself (blob: URLs made
from its bundled files), but its own component script, when JSME has not finished loading
by the time it runs, adds a <script> from unpkg.com as a fallback: a browser with internet
then fetches a second JSME from a CDN, one without waits for a file that never comes. This
component takes streamlit-jsme's bundled loader (its HTML) and puts its own script beside
it, which waits for the bundled JSME and never fetches anything.
"""

from __future__ import annotations

import functools

import streamlit as st

# How long the page waits for the bundled JSME before it says to type the SMILES instead.
LOAD_TIMEOUT_MS = 60_000

_SCRIPT = """
export default function(component) {
    const { setStateValue, parentElement, data } = component;
    const molecule = (data && data.molecule) || '';
    const height = (data && data.height) || 360;
    const timeout = (data && data.timeout) || 60000;

    function wireButtons() {
        const app = parentElement._jsmeApp;
        const apply = parentElement.querySelector('#jsme_apply_btn');
        const clear = parentElement.querySelector('#jsme_clear_btn');
        if (apply) apply.onclick = () => { if (app) setStateValue('result', app.smiles() || ''); };
        if (clear) clear.onclick = () => {
            if (app) { app.reset(); parentElement._lastMol = ''; }
            setStateValue('result', '');
        };
    }

    if (parentElement._jsmeApp) {  // drawn before: only a new molecule is read
        if (molecule !== parentElement._lastMol) {
            parentElement._lastMol = molecule;
            parentElement._jsmeApp.readGenericMolecularInput(molecule);
        }
        wireButtons();
        return;
    }
    parentElement._lastMol = molecule;

    function wrapperOf() {
        return parentElement.querySelector('#jsme_wrapper')
            || document.getElementById('jsme_wrapper');
    }

    function build(wrapper, width) {
        const shown = (parentElement._jsmeApp && parentElement._jsmeApp.smiles())
            || parentElement._lastMol;
        wrapper.innerHTML = '';
        const inner = document.createElement('div');
        inner.id = 'jsme_inner_' + Math.random().toString(36).slice(2, 10);
        wrapper.appendChild(inner);
        parentElement._jsmeApp = new window.JSApplet.JSME(
            inner.id, width + 'px', height + 'px', { options: 'query,lingo,stereo,newlook' });
        if (shown) {
            parentElement._jsmeApp.readGenericMolecularInput(shown);
            parentElement._lastMol = shown;
        }
        wireButtons();
    }

    function start(wrapper) {
        let width = wrapper.offsetWidth || 560;
        build(wrapper, width);
        let timer = null;
        parentElement._resize = new ResizeObserver((entries) => {
            const now = Math.round(entries[0].contentRect.width);
            if (!now || Math.abs(now - width) < 5) return;
            clearTimeout(timer);
            timer = setTimeout(() => { width = now; build(wrapper, now); }, 150);
        });
        parentElement._resize.observe(wrapper);
    }

    // The bundled JSME (the loader in this component's HTML) defines JSApplet when it is
    // ready; wait for it here, and never fetch it from anywhere else.
    const began = Date.now();
    let stopped = false;
    function waitForJSME() {
        if (stopped) return;
        const wrapper = wrapperOf();
        if (wrapper && window.JSApplet && window.JSApplet.JSME) {
            requestAnimationFrame(() => { if (!stopped) start(wrapper); });
        } else if (Date.now() - began > timeout) {
            if (wrapper) wrapper.textContent = 'The molecule editor did not load in this '
                + 'browser: type the SMILES in the field instead.';
        } else {
            setTimeout(waitForJSME, 50);
        }
    }
    waitForJSME();
    wireButtons();

    return function() {
        stopped = true;
        if (parentElement._resize) parentElement._resize.disconnect();
        parentElement._jsmeApp = null;
    };
}
"""


def _component():
    """streamlit-jsme's bundled loader with this module's script. Raises ImportError when
    streamlit-jsme (or its loader) is not there."""
    import streamlit_jsme  # 1 MB of JavaScript, read when an editor is first shown

    loader = getattr(streamlit_jsme, "_HTML", None)
    if not isinstance(loader, str) or "JSApplet" not in loader:
        raise ImportError("streamlit-jsme's bundled JSME loader was not found")
    return _registered(loader)


@functools.cache
def _registered(loader: str):
    """The component, registered once per server."""
    return st.components.v2.component(
        "charrnn_jsme_editor", html=loader, js=_SCRIPT, isolate_styles=False
    )


def jsme_editor(molecule: str, *, height: int, key: str) -> str:
    """A JSME editor showing ``molecule``; the SMILES of the last drawing applied ("": none).
    Raises ImportError when the editor is not installed."""
    result = _component()(
        data={"molecule": molecule, "height": height, "timeout": LOAD_TIMEOUT_MS},
        default={"result": ""},
        key=key,
        on_result_change=lambda: None,
    )
    return (result.result or "") if result else ""
