"""The administrators' pages (sessions.py: the web sessions in force and signing a caseworker out everywhere)."""
