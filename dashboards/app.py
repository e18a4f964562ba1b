"""omsi dashboards: `streamlit run dashboards/app.py` (or `omsi dashboard`).

Pages read only the serving snapshot ($OMSI_HOME/serving.duckdb, or $OMSI_SERVING), never the
pipeline's warehouse, so browsing can never block or break a pipeline run.
"""

import streamlit as st

from dashboards.shell import sidebar_status

st.set_page_config(page_title="omsi", page_icon=":material/local_shipping:", layout="wide")

# One line per page; the first is the landing page, which Streamlit serves at the root URL only
# (links to it are /?period=..., never /overview). Page files live in app_pages/, not pages/: a
# pages/ folder beside this script makes a fresh server answer its first deep link with
# Streamlit's legacy folder-based navigation, running the page file without this frame.
PAGES = [
    st.Page(
        "app_pages/overview.py", title="Overview", icon=":material/monitoring:", url_path="overview"
    ),
    st.Page(
        "app_pages/orders.py", title="Orders and promises", icon=":material/schedule:",
        url_path="orders",
    ),
    st.Page(
        "app_pages/inventory.py", title="Inventory", icon=":material/inventory_2:",
        url_path="inventory",
    ),
    st.Page(
        "app_pages/fulfilment.py", title="Fulfilment and routing", icon=":material/route:",
        url_path="fulfilment",
    ),
    st.Page(
        "app_pages/cost.py", title="Cost to serve", icon=":material/payments:", url_path="cost"
    ),
    st.Page(
        "app_pages/returns.py", title="Returns", icon=":material/assignment_return:",
        url_path="returns",
    ),
    st.Page(
        "app_pages/exceptions.py", title="Exceptions", icon=":material/warning:",
        url_path="exceptions",
    ),
    st.Page("app_pages/risk.py", title="Risk", icon=":material/crisis_alert:", url_path="risk"),
    # Data intake grew into Data health; its link stays /intake so shared links keep working.
    st.Page("app_pages/ingest.py", title="Data health", icon=":material/input:", url_path="intake"),
]  # fmt: skip

page = st.navigation(PAGES)
sidebar_status()
page.run()
