"""Wellspring flows: the pipelines, wired from tasks."""
