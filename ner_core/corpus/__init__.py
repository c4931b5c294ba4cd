"""Annotated corpora: read GMB CSV and CoNLL files, validate IOB2, split, describe, store uploads.

The tag scheme (:mod:`tags`) and the tokenizer live here too: they define what a
sentence and an entity are for every later stage.
"""
