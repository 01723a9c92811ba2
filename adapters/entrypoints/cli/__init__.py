"""The `beian` command."""
