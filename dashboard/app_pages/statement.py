"""Statement: a month in the billing time zone, computed against billed, with the differences explained."""

import streamlit as st

from dashboard import state
from dashboard.appdata import reads
from dashboard.charts import format as fmt
from dashboard.charts import tables
from dashboard.state import ZONES
from dashboard.warehouse.statement import (
    APPROXIMATE_HELP,
    FLAG_ABS_USD,
    FLAG_SHARE,
    current_month,
    default_month,
)

view = state.current()
st.title("Statement")
left, right = st.columns(2)
tz = left.selectbox("Billing time zone", ZONES, index=ZONES.index(view.filters.tz), key="statement_tz",
                    help="Month boundaries follow this zone; providers usually bill in UTC.")
months = reads.months_with_data(tz)
if not months:
    st.info("No requests yet: import logs on the Import page.")
    st.stop()
to_date = current_month(tz)
opening = default_month(months, tz, view.filters.start, view.filters.end)
month = right.selectbox("Month", months, index=months.index(opening), key="statement_month",
                        format_func=lambda m: f"{m} (month to date)" if m == to_date else m,
                        help="Opens on the month the sidebar's range lies in, else the last complete month.")
shown_month = f"{month}, month to date," if month == to_date else month
st.caption(f"{shown_month} in {tz}; the sidebar's provider, model, project, key and tag filters apply, "
           f"its dates do not. Differences over {(FLAG_SHARE * 100).normalize()}% or ${FLAG_ABS_USD} are "
           f"highlighted. {fmt.ROUNDING_NOTE}")

report = reads.month_statement(month, tz, view.filters)
total = report.total
a, b, c, d = st.columns(4)
a.metric("Computed", fmt.usd(total.computed_usd, 2), border=True, help="From the price catalog.")
b.metric("Billed", fmt.usd(total.billed_usd, 2), border=True,
         help=f"What the logs say was charged ({total.billed_requests:,} of {total.requests:,} requests).")
c.metric("Difference", fmt.usd(total.difference_usd, 2), fmt.delta(total.difference_pct / 100, 2) if
         total.difference_pct is not None else None, delta_color="off", border=True,
         help="Billed − computed, over the same requests: those that have both a price and a billed cost.")
d.metric("Charged", fmt.usd(total.charged_usd, 2), border=True, help="Billed where known, computed otherwise.")
if total.billed_requests:
    st.caption(f"Billed cost known for {total.billed_requests:,} of {total.requests:,} requests, covering "
               f"{fmt.usd(total.comparable_computed_usd, 2)} of the computed {fmt.usd(total.computed_usd, 2)}; "
               "the difference compares those requests only.")
else:
    st.caption("No request of this month carries a billed cost: there is nothing to compare the computed cost with.")
if total.approximate_usd:
    st.caption(f"Computed {fmt.usd(total.computed_usd, 2)}, of which approximate: "
               f"{fmt.usd(total.approximate_usd, 2)}.", help=APPROXIMATE_HELP)
if total.unpriced_requests:
    st.warning(f"{total.unpriced_requests:,} requests have no price and are not in the computed total.")
    st.page_link("app_pages/prices.py", label="Open Prices", icon=":material/sell:")

flagged = tables.flagged_lines([line for dim in ("model", "project", "api_key") for line in report.lines(dim)])
if len(flagged):
    st.warning(f"{len(flagged)} lines where billed and computed differ beyond the thresholds; explanations below.")
    st.dataframe(tables.display(flagged), column_config=tables.column_config(flagged), hide_index=True,
                 key="statement_flagged")
    with st.expander("Why each flagged line differs", expanded=len(flagged) <= 3):
        for row in flagged.itertuples():
            st.text(f"{row.breakdown} {row.key}: {row.explanation}")  # names from logs: no markdown

for tab, dim in zip(st.tabs(["By model", "By project", "By API key", "By provider", "By day"]),
                    ("model", "project", "api_key", "provider", "day"), strict=True):
    frame = report.frame(dim)
    tab.dataframe(tables.statement_table(frame), column_config=tables.column_config(frame), hide_index=True,
                  key=f"statement_{dim}")

st.subheader("Downloads")
downloads = reads.statement_downloads(month, tz, view.filters)
for col, (label, (name, data, mime)) in zip(st.columns(len(downloads)), downloads.items(), strict=True):
    col.download_button(label, data, name, mime, key=f"download_{label}", on_click="ignore")
