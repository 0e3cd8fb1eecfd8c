"""Streamlit-side helpers: session-state owners, caches and the background training job."""
