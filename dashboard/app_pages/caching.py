"""caching (coming)."""

import streamlit as st

st.title("caching")
st.info("This page is not built yet.")
