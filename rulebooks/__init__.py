"""Dermatology content and its engine: the fact schema, the coding pipeline, the rulebook library.

`rulebooks` knows nothing of HTTP, SQL or Redis; it imports only `dsl`.
"""
