"""The Evaluate page's parts: choosing a suite and targets and running (setup), and the results."""
