"""Developer scripts: the browser walk-through, chromium set-up, and the harness they share with the tests."""
