"""NER Workbench core: everything that is not UI.

Data flows one way: data -> encoding -> models/training -> metrics -> inference
-> store/routing. Pages call into this package; it never imports streamlit.
"""

__version__ = "0.1.0"
