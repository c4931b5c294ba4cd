"""What the pages compute: corpus exploration, run comparison, annotation and the
review queue, and HTML rendering of highlighted entities (all user text escaped).
"""
