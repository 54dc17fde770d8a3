"""charrnn's web app: pick a corpus, train a character-level RNN, sample it.

Run with `streamlit run streamlit_app.py`; each page lives in pages/ and stays thin.
"""

import streamlit as st

import ui

st.set_page_config(page_title="charrnn", page_icon="🧪", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/corpus.py", title="Corpus", icon=":material/description:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:"),
    st.Page("pages/chemistry.py", title="Chemistry", icon=":material/science:"),
    st.Page("pages/inside.py", title="Inside", icon=":material/visibility:"),
    st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
    st.Page("pages/gallery.py", title="Class gallery", icon=":material/groups:"),
    st.Page("pages/instructor.py", title="Instructor", icon=":material/admin_panel_settings:"),
]

navigation = st.navigation(PAGES)
space = ui.workspace()
ui.job_runner()
ui.sidebar(space)
navigation.run()
