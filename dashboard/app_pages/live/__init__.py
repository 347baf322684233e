"""The Live calls page's parts: widgets and tabs (Streamlit), and the form values, runs and result rows
they use (no Streamlit)."""
