"""The process owners' pages: process versions, the check, diff and migration, the in-browser modeller (pages.py), and
reading an uploaded or edited diagram with its forms (sources.py)."""
