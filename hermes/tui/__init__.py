"""The Textual front end. The only package that may import textual.

Its UI-free modules (transcript, format, markdown, complete, input_history, sessions,
facts_view, options, gc_tuning) import no textual and are shared with the plain REPL.
"""
