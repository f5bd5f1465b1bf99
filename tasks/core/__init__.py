"""The Wellspring library: pure Python, Polars, numpy, scikit-learn and datasketch.

Nothing in this package imports Prefect, so everything here runs and tests without a server.
"""
