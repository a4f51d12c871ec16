"""Outputs: every file of the site planned (:mod:`~feeds.outputs.plan`) from
the validated model, and the builders that render them (pages, feeds, lists,
ninjs, headers). Pure functions of the content and ``now``: nothing here
writes, sends or reads the state database.
"""
