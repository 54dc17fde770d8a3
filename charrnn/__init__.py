"""charrnn: train character-level recurrent networks on text and SMILES, and sample them.

The engine behind the app and the command line; it never imports Streamlit.
"""

__version__ = "0.1.0"
