"""What the pages compute: corpus exploration, run comparison, annotation and the
review queue, the home page's overview, the figures of the explorer and the comparison
(plotly, no Streamlit), and HTML rendering of highlighted entities (all user text escaped).
"""
