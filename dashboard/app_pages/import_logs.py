"""Import: upload log files, check the detected format and a preview, map generic columns, import."""

import streamlit as st

from dashboard import cache, exports
from dashboard.charts import tables
from dashboard.errors import DashboardError
from dashboard.ingest import Options
from dashboard.ingest.formats.generic import SYNONYMS

st.title("Import logs")
st.caption("Each file is imported in one transaction: all of its valid rows land, or nothing does. "
           "Requests already in the warehouse (same source and id) are counted as duplicates.")
if cache.warehouse().read_only:
    st.warning("The warehouse is open read-only: imports are disabled.")
    st.stop()

# Streamlit refuses other types and files over server.maxUploadSize (.streamlit/config.toml)
# with its own message; what passes is then checked by content (detection) below.
UPLOAD_TYPES = ["csv", "tsv", "txt", "json", "jsonl", "ndjson", "log", "parquet", "gz", "zst"]
uploads = st.file_uploader("Log files (CSV, TSV, JSON, JSON lines, Parquet; .gz and .zst too)",
                           type=UPLOAD_TYPES, accept_multiple_files=True, key="uploads",
                           help=f"Up to {st.get_option('server.maxUploadSize'):,} MB per file.")
plans = []
for up in uploads or []:
    with st.expander(f"{up.name} ({up.size:,} bytes)", expanded=True):
        try:
            detected, headers, guessed = cache.inspect_upload(up, up.name)
        except DashboardError as e:
            st.error(str(e))
            continue
        names = cache.format_names()
        fmt = st.selectbox("Format", names, index=names.index(detected or "generic"), key=f"fmt_{up.file_id}",
                           help="Detected from the file; change it when detection is wrong.")
        st.caption(f"Detected format: **{detected or 'not recognised (map the columns below)'}**")
        mapping: dict[str, str] = {}
        cached_included = None
        if fmt == "generic":
            st.markdown("**Column mapping** (the equivalent of `--map HEADER=FIELD`)")
            cols = st.columns(3)
            for i, field in enumerate(SYNONYMS):
                choices = ["—", *headers]
                pick = cols[i % 3].selectbox(field, choices, index=choices.index(guessed.get(field, "—")),
                                             key=f"map_{up.file_id}_{field}")
                if pick != "—":
                    mapping[pick] = field
            included = st.radio("Do the prompt tokens include the cached tokens?", ["detect", "yes", "no"],
                                horizontal=True, key=f"cached_{up.file_id}",
                                help="OpenAI-style logs: yes. Anthropic-style logs: no.")
            cached_included = {"detect": None, "yes": True, "no": False}[included]
        options = Options(mapping=mapping, cached_included=cached_included)
        try:
            _, columns, rows = cache.preview_upload(up, up.name, fmt, options)
        except DashboardError as e:
            st.error(str(e))
            continue
        st.dataframe(tables.preview(columns, rows), hide_index=True, key=f"preview_{up.file_id}")
        plans.append((up, fmt, options))

if plans and st.button(f"Import {len(plans)} file(s)", type="primary", key="import"):
    bar = st.progress(0.0, text="Starting")
    results = []
    for i, (up, fmt, options) in enumerate(plans):
        bar.progress(i / len(plans), text=f"Importing {up.name}")
        try:
            results.append((up.name, cache.import_upload(up, up.name, fmt, options), None))
        except DashboardError as e:
            results.append((up.name, None, str(e)))
    bar.progress(1.0, text="Done")
    st.session_state["import_results"] = results

for name, result, error in st.session_state.get("import_results", []):
    st.subheader(name)
    if error:
        st.error(error)
        continue
    a, b, c = st.columns(3)
    a.metric("Added", f"{result.added:,}")
    b.metric("Duplicates", f"{result.duplicates:,}")
    c.metric("Rejected", f"{result.rejected:,}")
    if result.updated:
        st.caption(f"Of the duplicates, {result.updated:,} were logged mid-reply before: "
                   "their usage is now the final one.")
    if result.rejected:
        rejected = cache.rejected_rows(result.import_id)
        st.download_button("Download rejected rows (CSV)", exports.to_csv(rejected), f"rejected-{name}.csv",
                           "text/csv", key=f"rejected_{result.import_id}")

st.subheader("Import history")
st.dataframe(cache.import_history(), hide_index=True, key="import_history")
