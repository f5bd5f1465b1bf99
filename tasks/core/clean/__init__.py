"""Cleaning: HTML to text, Unicode normalisation, language id and quality rules."""
