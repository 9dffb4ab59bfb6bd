"""Pure figure builders, one module per capability: results in, plotly figures out (no Streamlit)."""
