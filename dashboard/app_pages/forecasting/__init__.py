"""The Forecast page's tabs: the planner and its inputs, the trend, repricing, the cache simulation."""
