"""statement (coming)."""

import streamlit as st

st.title("statement")
st.info("This page is not built yet.")
