"""Helpers that tests in more than one folder use, importable as `support.<module>` (tests/ is on
pytest's `pythonpath`), so any subset of the test folders runs on its own."""
