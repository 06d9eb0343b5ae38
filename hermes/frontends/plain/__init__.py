"""The prompt-toolkit line REPL (`hermes --plain`)."""
