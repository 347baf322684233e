"""Import: upload log files, make the choices the command line takes, see the priced preview, import."""

import streamlit as st

from dashboard import exports
from dashboard.app_pages.importing import workspace
from dashboard.app_pages.importing.choices import file_choices
from dashboard.app_pages.importing.preview import priced_preview
from dashboard.app_pages.importing.words import page_words
from dashboard.appdata import reads, store, writes
from dashboard.errors import DashboardError

st.title("Import logs")
st.caption("Each file is imported in one transaction: all of its valid rows land, or nothing does. "
           "Requests already in the warehouse (same source and id) are counted as duplicates.")
if store.warehouse().read_only:
    st.warning("The warehouse is open read-only: imports are disabled.")
    st.stop()

workspace.default_routes()

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
            detected, headers, guessed = reads.inspect_upload(up, up.name)
        except DashboardError as e:
            st.error(page_words(str(e)))
            continue
        names = reads.format_names()
        fmt = st.selectbox("Format", names, index=names.index(detected or "generic"), key=f"fmt_{up.file_id}",
                           help="Detected from the file; change it when detection is wrong.")
        st.caption(f"Detected format: **{detected or 'not recognised (map the columns below)'}**")
        choices = file_choices(up, fmt, headers, guessed)
        if choices is None:
            continue
        try:
            decision = reads.decide_upload(up, up.name, fmt, choices.options)
            _, columns, rows = reads.preview_upload(up, up.name, fmt, decision.options)
        except DashboardError as e:
            st.error(page_words(str(e)))
            continue
        if not rows:
            st.warning(f"{up.name}: the file has no rows (a header and nothing else?): there is nothing to import.")
            continue
        for note in decision.notes:
            st.info(note)
        frame, unpriced = priced_preview(columns, rows, store.catalog())
        for note in unpriced:
            st.warning(page_words(note) + ". Add a price on the Prices page, or choose the Provider or Model override.")
        frame["Problem"] = frame["Problem"].map(lambda v: page_words(v) if isinstance(v, str) else v)
        st.dataframe(frame, hide_index=True, key=f"preview_{up.file_id}")
        plans.append((up, fmt, decision.options, choices.profile))

if plans and st.button(f"Import {len(plans)} file(s)", type="primary", key="import"):
    bar = st.progress(0.0, text="Starting")
    results = {}
    for i, (up, fmt, options, profile) in enumerate(plans):
        bar.progress(i / len(plans), text=f"Importing {up.name}")
        try:
            results[up.file_id] = (up.name, writes.import_upload(up, up.name, fmt, options), None)
            writes.save_profile(profile)
        except DashboardError as e:
            results[up.file_id] = (up.name, None, page_words(str(e)))
    bar.progress(1.0, text="Done")
    st.session_state["import_results"] = results

# A result stays while its file is in the uploader, and goes with it.
present = {up.file_id for up in uploads or []}
for name, result, error in (v for k, v in st.session_state.get("import_results", {}).items() if k in present):
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
        rejected = reads.rejected_rows(result.import_id)
        if "reason" in rejected.columns:
            rejected["reason"] = rejected["reason"].map(lambda v: page_words(v) if isinstance(v, str) else v)
        st.download_button("Download rejected rows (CSV)", exports.to_csv(rejected), f"rejected-{name}.csv",
                           "text/csv", key=f"rejected_{result.import_id}", on_click="ignore")

workspace.profiles()
st.subheader("Import history")
st.dataframe(reads.import_history(), hide_index=True, key="import_history")
