"""The coach: engine, store, ladder, reports, scheduling, serving and the CLI.

The core never imports an adapter; only the composition root (the CLI and the server
wiring) does.
"""
