"""prices (coming)."""

import streamlit as st

st.title("prices")
st.info("This page is not built yet.")
