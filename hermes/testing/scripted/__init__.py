"""The scripted OpenAI-compatible server used by tests and benches (hermes never imports it)."""
