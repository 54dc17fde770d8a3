"""charrnn's web app: pick a corpus, train a character-level RNN, sample it.

Run with `streamlit run streamlit_app.py`; each page lives in pages/ and stays thin.
"""

import streamlit as st

from app import ui

st.set_page_config(page_title="charrnn", page_icon="🧪", layout="wide")

PAGES = (  # (file, title, icon)
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/corpus.py", "Corpus", ":material/description:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/generate.py", "Generate", ":material/auto_awesome:"),
    ("pages/steer.py", "Steer", ":material/explore:"),
    ("pages/chemistry.py", "Chemistry", ":material/science:"),
    ("pages/inside.py", "Inside", ":material/visibility:"),
    ("pages/game.py", "Guess the next character", ":material/sports_esports:"),
    ("pages/models.py", "Models", ":material/inventory_2:"),
    ("pages/gallery.py", "Class gallery", ":material/groups:"),
    ("pages/instructor.py", "Instructor", ":material/admin_panel_settings:"),
)

navigation = st.navigation(
    [
        st.Page(file, title=title, icon=icon, default=file == PAGES[0][0])
        for file, title, icon in PAGES
    ]
)
st.session_state[ui.NAVIGATED] = True
wanted = st.session_state.pop(ui.WANTED_PAGE, None)
query = st.session_state.pop(ui.WANTED_QUERY, None)
if wanted in {file for file, _, _ in PAGES}:
    # the page whose address was opened, with its query (see ui.through_the_app)
    st.switch_page(wanted, query_params=query)
space = ui.workspace()
ui.job_runner()
ui.sidebar(space)
navigation.run()
