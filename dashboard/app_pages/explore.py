"""explore (coming)."""

import streamlit as st

st.title("explore")
st.info("This page is not built yet.")
