"""The Import page's parts: per-file choices, the priced preview, default routes and profiles."""
