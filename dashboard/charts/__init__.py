"""Plotly figure builders and display formatting: data frames in, figures or strings out; no Streamlit."""
