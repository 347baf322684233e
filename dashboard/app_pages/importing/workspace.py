"""The workspace's import settings: default routes and saved import profiles, shown and editable."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.appdata import reads, store, writes


def default_routes() -> None:
    saved = reads.default_routes()
    title = "Default routes: " + (", ".join(f"{v} → {r}" for v, r in saved.items()) if saved else "none set")
    with st.expander(title):
        st.caption("Say once which route a vendor's traffic goes through (DeepSeek's through OurToken, say). "
                   "A file whose rows name no provider, and whose models are all that vendor's, is then "
                   "imported as billed through that route, here and by `python -m dashboard import`. "
                   "A Provider chosen for a file wins; rows that name their provider keep it.")
        catalog = store.catalog()
        resellers = sorted(name for name, r in catalog.routes.items() if r.upstream)
        vendors = sorted({r.upstream for r in catalog.routes.values() if r.upstream} | {
            name for name, r in catalog.routes.items() if not r.upstream})
        a, b, c = st.columns([2, 2, 1])
        resold = [v for v in vendors if any(catalog.routes[n].upstream == v for n in resellers)]
        vendor = a.selectbox("Traffic to vendor", vendors, index=vendors.index(resold[0]) if resold else 0,
                             key="default_vendor")
        offered = [n for n in resellers if catalog.routes[n].upstream == vendor] or sorted(catalog.routes)
        route = b.selectbox("goes through route", offered, key="default_route")
        if c.button("Save", key="save_default_route"):
            writes.set_default_route(vendor, route)
            st.rerun()
        for saved_vendor, saved_route in saved.items():
            x, y = st.columns([4, 1])
            x.write(f"**{saved_vendor}** traffic goes through **{saved_route}**")
            if y.button("Delete", key=f"delete_route_{saved_vendor}"):
                writes.delete_default_route(saved_vendor)
                st.rerun()


def profiles() -> None:
    saved = reads.import_profiles()
    if not saved:
        return
    st.subheader("Import profiles")
    st.caption("The choices made for each source and format, saved at import and applied to the next file "
               "of the same source and format. Change a choice on the next upload to update it.")
    frame = pd.DataFrame([{
        "Source": p.source, "Format": p.format, "Provider": p.provider or "as in the file",
        "Model override": p.model or "", "Time zone": p.tz or "UTC",
        "Cached tokens in prompt": {None: "detect", True: "yes", False: "no"}[p.cached_included],
        "Column mapping": ", ".join(f"{h} → {f}" for h, f in p.mapping.items()),
        "Saved": p.saved_at,
    } for p in saved])
    st.dataframe(frame, hide_index=True, key="profiles")
    names = [f"{p.source} / {p.format}" for p in saved]
    a, b = st.columns([3, 1])
    pick = a.selectbox("Profile", names, key="profile_pick", label_visibility="collapsed")
    if b.button("Delete profile", key="delete_profile"):
        chosen = saved[names.index(pick)]
        writes.delete_profile(chosen.source, chosen.format)
        st.rerun()
