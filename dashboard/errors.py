"""Errors meant to be shown to a person, with a title-worthy message and a hint."""


class DashboardError(Exception):
    """Base of the app's own errors; pages show them with st.error, the CLI on stderr."""


class WarehouseError(DashboardError):
    """The DuckDB warehouse cannot be opened, migrated or queried."""


class ImportFailed(DashboardError):
    """A file could not be imported at all; nothing was written."""


class LiveCallError(DashboardError):
    """A live call to an endpoint failed; the message never contains the API key."""
