"""Captcha Lab: the dashboard's entry point. It builds the navigation, keeps the tab's data in its link, and
notes a running training under the navigation.

The pages live in views/, not pages/: Streamlit auto-lists a pages/ folder, and a direct link opened
before any session ran this script would show that list instead of our navigation.
"""
from pathlib import Path

import streamlit as st

from lab_ui.job_views import sidebar_note
from lab_ui.state import keep_data_in_link

# A file of our own: a :material/...: page icon makes the browser fetch the tab icon from Google's font servers,
# and a classroom may be offline.
ICON = Path(__file__).parent / "assets" / "favicon.png"

st.set_page_config(page_title="Captcha Lab", page_icon=str(ICON), layout="wide")

PAGES = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/data.py", title="Data", icon=":material/dataset:"),
    st.Page("views/train.py", title="Train", icon=":material/model_training:"),
    st.Page("views/evaluate.py", title="Evaluate", icon=":material/grid_on:"),
    st.Page("views/playground.py", title="Playground", icon=":material/draw:"),
]

# Pages whose job panel already shows a running training.
WITH_JOB_PANEL = {"Home", "Train"}

# Every run, since a page switch drops the link's parameters: a reload then finds the data in the link.
keep_data_in_link()
page = st.navigation(PAGES)
if page.title not in WITH_JOB_PANEL:
    sidebar_note()
page.run()
