"""Forecasts: launch-cost scenarios, spend trends and cache simulations.

Plain functions and dataclasses, no Streamlit and no database: they take data in and give
data out. Money is Decimal; floats appear only inside statistical models and simulations.
"""
