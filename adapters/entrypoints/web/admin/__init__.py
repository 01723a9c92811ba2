"""The administrators' pages (sessions.py: the web sessions in force and signing a caseworker out everywhere;
issuers.py: who issues and signs each authority's documents; roles.py: the roles lanes stand for, and adding one)."""
