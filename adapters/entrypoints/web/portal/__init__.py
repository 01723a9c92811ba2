"""The institution portal (`/portal/`)."""
