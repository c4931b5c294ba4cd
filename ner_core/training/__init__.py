"""Training: the typed config, the loop that calls ``fit``, its callbacks, the run folder
it publishes, and the background job runner (one child process per fit).
"""
