"""Dataset builds: a reproducible training set drawn from a pinned reservoir version."""
