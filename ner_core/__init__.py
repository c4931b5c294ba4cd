"""NER Workbench core: everything that is not UI.

Grouped by role; data flows one way: corpus -> modeling/training -> evaluation
-> serving -> traffic, and workbench computes what the pages show. Pages call
into this package; it never imports streamlit.
"""

__version__ = "0.1.0"
