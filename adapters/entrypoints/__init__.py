"""The ways in: what people and schedulers start (the CLI, the web app, `beian up`, the demo, the benchmarks)."""
