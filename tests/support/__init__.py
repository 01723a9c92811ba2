"""What several test packages share and that is not a fixture: helpers imported by name."""
