"""The HTTP API for other systems, under /api/v1: read the OKRs, push key results' values.

`routes` declares the operations once; `app` serves them (tokens from `auth`, errors as
problem documents from `problems`) and `openapi` describes them, from the `models` both use.
"""
