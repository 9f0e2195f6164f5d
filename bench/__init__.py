"""optilab's benchmarks: ``make bench`` (``python -m bench``) runs them; see ``bench/__main__.py``."""
