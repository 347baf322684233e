"""The Planner tab: scenario inputs (or "use my traffic"), cost per route and month, the
cheapest route, a sensitivity tornado and an optional Monte Carlo on sampled history."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.app_pages.forecasting.inputs import scenario_inputs
from dashboard.appdata import planning, store
from dashboard.charts import forecast as charts
from dashboard.charts import format as fmt
from dashboard.charts import tables
from dashboard.errors import DashboardError
from dashboard.forecasts.scenario import ScenarioInputs, run_scenario, sensitivity
from pricing import PricingError


def _monte_carlo(view: state.View, inputs: ScenarioInputs, cheapest: str) -> None:
    st.caption("Bootstraps per-request token counts sampled from the history the sidebar selects (at most 20,000 "
               "requests) and its daily request counts, with the growth above. Quantiles are costs a simulation had.")
    a, b, c = st.columns(3)
    route = a.selectbox("Route", inputs.routes, index=inputs.routes.index(cheapest), key="fc_mc_route")
    sims = b.number_input("Simulations", min_value=10, max_value=2000, value=200, step=50, key="fc_mc_sims")
    seed = c.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="fc_mc_seed")
    with st.spinner("Simulating…"):
        months = planning.monte_carlo(view.filters, route, inputs.months, inputs.growth_pct, int(sims), int(seed))
    st.plotly_chart(charts.monte_carlo_fan(months, route), theme="streamlit", key="fc_mc_chart")
    table = charts.monte_carlo_table(months)
    st.dataframe(tables.display(table), column_config=tables.column_config(table), hide_index=True, key="fc_mc_table")


def render(view: state.View) -> None:
    catalog = store.catalog()
    routes = sorted(m.route for m in catalog.models)
    try:
        inputs = scenario_inputs(view, routes)
        if inputs is None:
            return
        result = run_scenario(inputs, catalog=catalog)
    except (DashboardError, PricingError) as e:
        st.error(str(e))
        return
    best = result.cheapest
    st.markdown(f"Cheapest over {inputs.months} months: **{best.route}** ★")
    a, b, _ = st.columns(3)
    a.metric("Month 1 on the cheapest route", fmt.usd(best.months[0].total_usd), border=True)
    b.metric(f"Total over {inputs.months} months", fmt.usd(best.total_usd), border=True)
    totals = charts.scenario_totals(result)
    st.dataframe(tables.display(totals), column_config=tables.column_config(totals), hide_index=True,
                 key="fc_totals")
    st.plotly_chart(charts.scenario_months(result), theme="streamlit", key="fc_months_chart")
    with st.expander("Every route and month, by token bucket"):
        st.caption("A month is 30 days; requests and tokens are rounded half-even to whole numbers per month. "
                   "A route with peak hours (DeepSeek's own, for one) is priced at its rates weighted by the "
                   "hours of the week each covers, as if the traffic were spread evenly over the week.")
        months = charts.scenario_table(result)
        st.dataframe(tables.display(months), column_config=tables.column_config(months), hide_index=True,
                     key="fc_months_table")
    st.plotly_chart(charts.tornado(sensitivity(inputs, route=best.route, catalog=catalog), best.route),
                    theme="streamlit", key="fc_tornado")
    if st.toggle("Monte Carlo from my history (P10 / P50 / P90)", key="fc_mc"):
        try:
            _monte_carlo(view, inputs, best.route)
        except (DashboardError, PricingError) as e:
            st.warning(str(e))
