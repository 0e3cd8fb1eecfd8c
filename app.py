"""Captcha Lab: the dashboard's entry point. It only builds the navigation; pages live in pages/."""
import streamlit as st

st.set_page_config(page_title="Captcha Lab", page_icon=":material/pattern:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/dataset:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/grid_on:"),
    st.Page("pages/playground.py", title="Playground", icon=":material/draw:"),
]

st.navigation(PAGES).run()
