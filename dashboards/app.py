"""omsi dashboards: `streamlit run dashboards/app.py` (or `omsi dashboard`).

Pages read only the serving snapshot ($OMSI_HOME/serving.duckdb, or $OMSI_SERVING), never the
pipeline's warehouse, so browsing can never block or break a pipeline run.
"""

import streamlit as st

from dashboards.shell import sidebar_status

st.set_page_config(page_title="omsi", page_icon=":material/local_shipping:", layout="wide")

# One line per page; the first is the landing page.
PAGES = [
    st.Page("pages/ingest.py", title="Data intake", icon=":material/input:", url_path="intake"),
]

page = st.navigation(PAGES)
sidebar_status()
page.run()
