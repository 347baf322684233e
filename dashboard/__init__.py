"""The LLM API cost and usage dashboard: warehouse, ingest, forecasts, live calls and the app."""
