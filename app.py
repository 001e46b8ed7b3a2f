"""MobileNetV2 Lab: `streamlit run app.py`."""

import streamlit as st

st.set_page_config(page_title="MobileNetV2 Lab", page_icon=":material/local_florist:", layout="wide")

pages = [
    st.Page("pages/classify.py", title="Classify", icon=":material/local_florist:", default=True),
    st.Page("pages/benchmark.py", title="Benchmark", icon=":material/speed:"),
    st.Page("pages/architecture.py", title="Architecture", icon=":material/account_tree:"),
    st.Page("pages/training.py", title="Training", icon=":material/monitoring:"),
    st.Page("pages/teach.py", title="Teach", icon=":material/school:"),
]
navigation = st.navigation(pages)

from pages.common import APP_RAN, sidebar_status, warm_default_model  # noqa: E402  (after set_page_config)

st.session_state[APP_RAN] = True
warm_default_model()
sidebar_status()
navigation.run()
