"""The cost math as SQL, so a database computes exactly what `pricing.cost` computes.

Plain text, no database import. The rows come from `pricing.price_bands`, each spread over
its hours of the week: one row per model, period, UTC weekday, UTC hour and prompt-size
band, none overlapping. Rates are stored per token as DECIMAL(18,12) (catalog rates have at
most 6 decimals per 1M tokens, so this is exact), token counts as BIGINT, and every product
is DECIMAL with scale 12: no division, no float, no rounding.
"""

from __future__ import annotations

from pricing.cost import HOURS_OF_WEEK

__all__ = ["GROUP_COLUMNS", "PRICE_COLUMNS", "price_shape_sql", "priced_groups_sql", "priced_requests_sql"]

PRICE_COLUMNS = (
    "provider", "model", "valid_from", "valid_to", "weekday", "hour", "min_prompt_tokens",
    "max_prompt_tokens", "currency", "price_window", "input_per_token", "cache_read_per_token",
    "cache_write_per_token", "cache_write_1h_per_token", "output_per_token", "reasoning_per_token",
)

# A row may stand for several requests (request_count): its band is the one that holds its
# prompt tokens per request, compared without division (prompt > (min - 1) x n and
# prompt <= max x n), in HUGEINT as max x n passes BIGINT's range.
_PROMPT = "CAST(q.input_tokens + q.cache_read_tokens + q.cache_write_tokens + q.cache_write_1h_tokens AS HUGEINT)"
_REQUESTS = "greatest(coalesce(q.request_count, 1), 1)"

_IDENT = frozenset("abcdefghijklmnopqrstuvwxyz_0123456789.")


def _ident(name: str) -> str:
    if not name or not set(name) <= _IDENT:
        raise ValueError(f"not a plain table name: {name!r}")
    return name


_BUCKETS = (
    # (cost column, the (tokens, per-token rate) pairs it sums)
    ("input_cost", (("q.input_tokens", "input_per_token"),)),
    ("cache_read_cost", (("q.cache_read_tokens", "cache_read_per_token"),)),
    ("cache_write_cost", (("q.cache_write_tokens", "cache_write_per_token"),)),
    ("cache_write_1h_cost", (("q.cache_write_1h_tokens", "cache_write_1h_per_token"),)),
    ("output_cost", (("(q.output_tokens - q.reasoning_tokens)", "output_per_token"),
                     ("q.reasoning_tokens", "reasoning_per_token"))),
)
# The per-token rates of a price row, and of a priced request (the rates it was priced at).
RATES = ("input_per_token", "cache_read_per_token", "cache_write_per_token", "cache_write_1h_per_token",
         "output_per_token", "reasoning_per_token")
_HOUR_US = 3_600_000_000


def _cost(rates: str) -> str:
    """The cost of row `q` at the per-token rates of relation `rates`."""
    return " + ".join(f"{t} * {rates}.{r}" for _, pairs in _BUCKETS for t, r in pairs)


def _costs(rates: str) -> str:
    """The cost columns of row `q` at the per-token rates of relation `rates`: per bucket, and `cost`."""
    buckets = (" + ".join(f"{t} * {rates}.{r}" for t, r in pairs) + f" AS {name}" for name, pairs in _BUCKETS)
    return ",\n        ".join([*buckets, f"{_cost(rates)} AS cost"])


def priced_requests_sql(requests: str = "requests", prices: str = "prices", model_map: str = "model_map") -> str:
    """SELECT every request with its per-bucket cost, total cost and an `unpriced` flag.

    `model_map` maps each logged (provider, model) to the catalog entry it resolves to
    (the Python resolver fills it), so aliases and vendor prefixes resolve the same way
    in SQL as in Python. A request whose model has no price keeps its volume, with NULL
    cost and `unpriced = true`, never a cost of 0.

    A row with a span (`span_s`, seconds from `ts`: a day's requests in one row) is priced
    as `pricing.cost.price_span` prices it: at each bucket's rate weighted by the share of
    the span's priced time under it (rounded half up to the 12 decimals per token of every
    rate, 6 per 1M), `approximate` when the prices met inside the span give the row
    different costs, `cost_low` / `cost_high` its cost at the cheapest / dearest of them.
    Every other row has `approximate = false` and `cost_low = cost_high = cost`. Only rows
    with a span pay for the slicing: the two kinds are priced apart, then put together.
    """
    moment = _moment_sql(requests, prices, model_map)
    return f"""
    SELECT *, false AS approximate, cost AS cost_low, cost AS cost_high FROM ({moment})
    UNION ALL BY NAME
    {_span_sql(requests, prices, model_map)}
    """


def _moment_sql(requests: str, prices: str, model_map: str) -> str:
    """The rows priced at one moment, `ts` (no span)."""
    r, p, m = _ident(requests), _ident(prices), _ident(model_map)
    return f"""
    SELECT
        q.*,
        mm.price_provider,
        mm.price_model,
        pr.price_window,
        pr.currency AS price_currency,
        {", ".join(f"pr.{rate}" for rate in RATES)},
        pr.input_per_token IS NULL AS unpriced,
        {_costs("pr")}
    FROM {r} AS q
    LEFT JOIN {m} AS mm
        ON mm.provider = coalesce(q.provider, '') AND mm.model = q.model
    LEFT JOIN {p} AS pr
        ON pr.provider = mm.price_provider
        AND pr.model = mm.price_model
        AND pr.weekday = CAST(((epoch_ms(q.ts) // 86400000) + 3) % 7 AS TINYINT)
        AND pr.hour = CAST((epoch_ms(q.ts) // 3600000) % 24 AS TINYINT)
        AND q.ts >= pr.valid_from AND q.ts < pr.valid_to
        AND {_PROMPT} > (pr.min_prompt_tokens - 1) * {_REQUESTS}
        AND {_PROMPT} <= CAST(pr.max_prompt_tokens AS HUGEINT) * {_REQUESTS}
    WHERE q.span_s IS NULL
    """


def _span_sql(requests: str, prices: str, model_map: str) -> str:
    """The rows with a span, cut into slices at UTC hours and at period bounds (a price row is
    one period's weekday and hour, so a slice is an hour met with each price row in force
    during it). Per rate: the sum of microseconds x rate x 10^12 (a whole number), divided
    once by the priced microseconds, rounded half up."""
    r, p, m = _ident(requests), _ident(prices), _ident(model_map)
    h = _HOUR_US
    sums = ",\n            ".join(
        f"sum(s.ov * CAST(pr.{rate} * 1000000000000 AS HUGEINT)) AS {rate}_sum" for rate in RATES)
    weighted = ",\n        ".join(
        f"CAST(CAST((2 * a.{rate}_sum + a.covered) // (2 * a.covered) AS DECIMAL(38, 0))"
        f" * CAST(0.000000000001 AS DECIMAL(18, 12)) AS DECIMAL(18, 12)) AS {rate}" for rate in RATES)
    return f"""
    SELECT w.* EXCLUDE (cost_low, cost_high), {_costs("w").replace("q.", "w.")},
        coalesce(w.cost_low <> w.cost_high, false) AS approximate, w.cost_low, w.cost_high
    FROM (
    SELECT
        q.*,
        mm.price_provider,
        mm.price_model,
        a.price_window,
        a.price_currency,
        {weighted},
        a.covered IS NULL AS unpriced,
        a.cost_low,
        a.cost_high
    FROM (SELECT * FROM {r} WHERE span_s IS NOT NULL) AS q
    LEFT JOIN {m} AS mm
        ON mm.provider = coalesce(q.provider, '') AND mm.model = q.model
    CROSS JOIN LATERAL (
        SELECT
            CAST(sum(s.ov) AS HUGEINT) AS covered,
            CASE WHEN min(coalesce(pr.price_window, '')) = max(coalesce(pr.price_window, ''))
                THEN min(pr.price_window) END AS price_window,
            min(pr.currency) AS price_currency,
            {sums},
            CAST(min({_cost("pr")}) AS DECIMAL(38, 12)) AS cost_low,
            CAST(max({_cost("pr")}) AS DECIMAL(38, 12)) AS cost_high
        FROM (
            SELECT h.hour_us, greatest(h.hour_us, x.start_us) AS from_us, least(h.hour_us + {h}, x.end_us) AS to_us
            FROM (SELECT epoch_us(q.ts) AS start_us,
                         epoch_us(q.ts) + CAST(q.span_s AS BIGINT) * 1000000 AS end_us) AS x,
                unnest(generate_series(x.start_us - ((x.start_us % {h}) + {h}) % {h}, x.end_us - 1, {h})) AS h(hour_us)
        ) AS sl
        JOIN {p} AS pr
            ON pr.provider = mm.price_provider
            AND pr.model = mm.price_model
            AND pr.weekday = CAST(((sl.hour_us // 86400000000) + 3) % 7 AS TINYINT)
            AND pr.hour = CAST((sl.hour_us // {h}) % 24 AS TINYINT)
            AND epoch_us(pr.valid_from) < sl.to_us AND epoch_us(pr.valid_to) > sl.from_us
            AND {_PROMPT} > (pr.min_prompt_tokens - 1) * {_REQUESTS}
            AND {_PROMPT} <= CAST(pr.max_prompt_tokens AS HUGEINT) * {_REQUESTS},
        LATERAL (SELECT CAST(least(sl.to_us, epoch_us(pr.valid_to)) - greatest(sl.from_us, epoch_us(pr.valid_from))
                             AS HUGEINT) AS ov) AS s
    ) AS a
    ) AS w
    """


# What priced_groups_sql gives per group besides its keys: the route, the summed volume, the
# price and the cost columns of the cost view. Every column but the route and the price is a sum
# over the group's requests, so summing it over rows gives what the view's rows sum to.
_SUMMED = ("request_count", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
           "output_tokens", "reasoning_tokens")
GROUP_COLUMNS = (
    "provider", "model", "price_provider", "price_model", "price_window", "price_currency", *_SUMMED,
    "billed_cost", *RATES, "unpriced", *(name for name, _ in _BUCKETS), "cost", "approximate", "cost_low",
    "cost_high",
)


def _last_edge(value: str, edges: list[int], reached: str) -> str:
    """The greatest of `edges` that `value` has reached (`reached` formats the test for edge {e}), else NULL."""
    whens = " ".join(f"WHEN {reached.format(v=value, e=e)} THEN {e}" for e in sorted(set(edges), reverse=True))
    return f"CASE {whens} END" if whens else "CAST(NULL AS BIGINT)"


def price_shape_sql(prices: str = "prices", model_map: str = "model_map") -> str:
    """SELECT one row of what priced_groups_sql needs to know of the prices, for requests in
    [$start, $end) (epoch microseconds, NULL for no bound): `periods`, the price periods' edges
    the range meets (those inside it and the last one before it); `bands`, every prompt-size
    band's edges; `hourly_models` and `hourly_providers`, the logged names of the routes
    (model_map) whose rates change with the weekday or hour inside a period or band.
    """
    p, m = _ident(prices), _ident(model_map)
    rates = ", ".join(RATES)
    return f"""
    WITH edges AS (SELECT epoch_us(valid_from) AS e FROM {p} UNION SELECT epoch_us(valid_to) FROM {p}),
    hourly AS (
        SELECT DISTINCT provider, model FROM {p}
        GROUP BY provider, model, valid_from, valid_to, min_prompt_tokens, max_prompt_tokens
        HAVING count(*) <> {HOURS_OF_WEEK} OR count(DISTINCT struct_pack({rates}, price_window, currency)) <> 1
    ), routes AS (
        SELECT m.provider, m.model FROM {m} AS m
        JOIN hourly AS h ON h.provider = m.price_provider AND h.model = m.price_model
    )
    SELECT
        (SELECT coalesce(list(e), []) FROM edges
         WHERE (($start IS NULL OR e > $start) AND ($end IS NULL OR e < $end))
            OR e = (SELECT max(e) FROM edges WHERE e <= $start)) AS periods,
        (SELECT coalesce(list(DISTINCT b), []) FROM (SELECT min_prompt_tokens - 1 AS b FROM {p}
                                                   UNION SELECT max_prompt_tokens FROM {p})) AS bands,
        (SELECT coalesce(list(DISTINCT model), []) FROM routes) AS hourly_models,
        (SELECT coalesce(list(DISTINCT provider), []) FROM routes) AS hourly_providers
    """


def priced_groups_sql(keys: dict[str, str], where: str, period_edges_us: list[int], band_edges: list[int],
                      hourly: str = "true", requests: str = "requests", prices: str = "prices",
                      model_map: str = "model_map") -> str:
    """The requests of `requests` (alias `q`) that match `where`, summed per value of `keys` and
    priced per group: the cost of rows that share a price is the price's rates times their summed
    tokens, exactly what the cost view's rows sum to (each product is exact), for a fraction of the work.

    `keys` maps a column name to an SQL expression over a request row `q`. The result has the
    keys and GROUP_COLUMNS (`model` as logged), and may hold several rows per key value (one per
    UTC hour, route, price period and prompt-size band met): sum them again by the keys.

    A group shares its price: the join keys (route, UTC weekday and hour) are group keys, and
    so are the last of `period_edges_us` (epoch microseconds) at or before `ts` and the last of
    `band_edges` below the prompt tokens per request. Both lists must hold every price row's
    edges met by the requests: valid_from and valid_to; min_prompt_tokens - 1 and
    max_prompt_tokens (price_shape_sql reads them). A price row holds a group exactly when it
    holds each of its requests, since its own edges are on the lists. The UTC hour is a key only
    for the rows that meet `hourly` (SQL over `q`): a route whose every period and band has one
    price row per weekday and hour, all alike, is priced at any of them (Monday 0:00) in far fewer
    groups. Rows with a span are priced one by one (priced_requests_sql).
    """
    r, p, m = _ident(requests), _ident(prices), _ident(model_map)
    names = list(keys)
    if not set(names).isdisjoint(GROUP_COLUMNS) or not all(n.isidentifier() for n in names):
        raise ValueError(f"group keys must be new plain names: {names!r}")
    period = _last_edge("epoch_us(q.ts)", [int(e) for e in period_edges_us], "{v} >= {e}")
    # The band test of priced_requests_sql, prompt > edge x requests, with each edge a constant.
    band = _last_edge(_PROMPT, [int(e) for e in band_edges], f"{{v}} > CAST({{e}} AS HUGEINT) * {_REQUESTS}")
    key_sql = "".join(f"{expr} AS {name}, " for name, expr in keys.items())
    sums = ", ".join(f"CAST(sum(q.{c}) AS BIGINT) AS {c}" for c in _SUMMED)
    return f"""
    SELECT {"".join(f"g.{k}, " for k in names)}g.provider, g.model, mm.price_provider, mm.price_model, pr.price_window,
        pr.currency AS price_currency, {", ".join(f"g.{c}" for c in _SUMMED)}, g.billed_cost,
        {", ".join(f"pr.{rate}" for rate in RATES)},
        pr.input_per_token IS NULL AS unpriced,
        {_costs("pr").replace("q.", "g.")},
        false AS approximate,
        {_cost("pr").replace("q.", "g.")} AS cost_low,
        {_cost("pr").replace("q.", "g.")} AS cost_high
    FROM (
        SELECT {key_sql}q.provider, q.model,
            CASE WHEN {hourly} THEN epoch_ms(q.ts) // 3600000 END AS price_hour,
            {period} AS price_period_us, {band} AS price_band,
            {sums}, sum(q.billed_cost) AS billed_cost
        FROM {r} AS q
        WHERE q.span_s IS NULL AND {where}
        GROUP BY ALL
    ) AS g
    LEFT JOIN {m} AS mm
        ON mm.provider = coalesce(g.provider, '') AND mm.model = g.model
    LEFT JOIN {p} AS pr
        ON pr.provider = mm.price_provider
        AND pr.model = mm.price_model
        AND pr.weekday = coalesce(CAST(((g.price_hour // 24) + 3) % 7 AS TINYINT), 0)
        AND pr.hour = coalesce(CAST(g.price_hour % 24 AS TINYINT), 0)
        AND epoch_us(pr.valid_from) <= g.price_period_us AND g.price_period_us < epoch_us(pr.valid_to)
        AND g.price_band >= pr.min_prompt_tokens - 1 AND g.price_band < pr.max_prompt_tokens
    UNION ALL BY NAME
    SELECT {key_sql}{", ".join(f"q.{c}" for c in GROUP_COLUMNS)}
    FROM ({_span_sql(r, p, m)}) AS q
    WHERE {where}
    """
