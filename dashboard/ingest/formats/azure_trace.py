"""Azure LLM inference traces (CSV: `TIMESTAMP,ContextTokens,GeneratedTokens`), Azure/AzurePublicDataset.

Each row is one request to an Azure-hosted model; the trace names no model, route, id or
price, so the import is attributed with --provider and --model (without --model every row
is rejected with a reason that says so). Timestamps are naive UTC with 7 fractional
digits; they are read as UTC whatever --tz says, because the dataset documents them so.
Rows carry no id: the importer derives a stable one from the row's text, so importing the
file again adds nothing. No cache counts: all context tokens are input.
"""

from __future__ import annotations

from dashboard.ingest.base import Format, Sample
from dashboard.ingest.fields import col, sql

_COLUMNS = {"timestamp", "contexttokens", "generatedtokens"}
_NAIVE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"


def sniff(sample: Sample) -> int:
    return 95 if sample.shape == "csv" and sample.lower_columns >= _COLUMNS else 0


FORMAT = Format(
    name="azure-trace",
    source="azure-trace",
    shapes=("csv",),
    sniff=sniff,
    fields={
        "ts": sql(f"CASE WHEN regexp_full_match(trim({{ts}}), '{_NAIVE}') THEN trim({{ts}}) || 'Z' ELSE {{ts}} END",
                  ts=col("TIMESTAMP")),
        "prompt_tokens": col("ContextTokens"),
        "output": col("GeneratedTokens"),
    },
    cached_included=True,
)
