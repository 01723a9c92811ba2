"""The public pages (`/public/`): no sign-in, only what the texts publish (workflows/service/public.py)."""
