"""import_logs (coming)."""

import streamlit as st

st.title("import_logs")
st.info("This page is not built yet.")
