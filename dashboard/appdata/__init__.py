"""The app's data layer: what the pages read and what they write, and the only place that uses
Streamlit's caches (`st.cache_resource`, `st.cache_data`).

- `store`: the process's warehouse (one per database file), the catalog it prices with, the
  `loader` decorator that caches a warehouse function per database file, and `clear()`.
- `reads`: the cached loaders of the spend, explore, cache, statement, prices and import pages.
- `planning`: the Forecast page's loaders (trend, scenarios, repricing, cache simulation).
- `writes`: imports, clearing the demo data, prices, default routes, profiles, live calls;
  each forgets the cached results it makes stale.

Loaders never read widgets: the pages pass what they read.
"""
