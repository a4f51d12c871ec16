"""Publish Markdown news articles as RSS, Atom and JSON Feed."""
