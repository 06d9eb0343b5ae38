"""Shared by the TUI and the plain REPL: transcript, formatting, completion, input history, sessions, slash commands."""
