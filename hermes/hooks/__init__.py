"""Hooks: user commands run on session, prompt and tool events, with JSON on stdin, in the
shape Claude Code's hook scripts expect (config, input fields, exit codes, JSON output).

:mod:`.table` picks the hooks an event runs, :mod:`.names` maps hermes' tools to the names
those scripts know, :mod:`.payload` builds their input, :mod:`.runner` runs each one as a
process of its own (its group killed on timeout or interrupt), :mod:`.outcome` reads what
it decided, :mod:`.transcript` writes the session for ``transcript_path``. The engine
calls them (:mod:`hermes.engine.hook_calls`).
"""
