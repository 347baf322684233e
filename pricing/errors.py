"""Errors meant to be shown to a person: each says what, where, and how to fix it."""


class PricingError(Exception):
    """Base of every error the pricing engine raises on purpose."""


class CatalogError(PricingError):
    """A catalog file is malformed; the message names the file, the entry and the fix."""


class UnknownModelError(PricingError):
    """No price is known for a model; the message lists the closest known ids."""


class UsageError(PricingError):
    """A provider usage object cannot be turned into disjoint token buckets."""
