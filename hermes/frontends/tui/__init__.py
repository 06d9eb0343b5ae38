"""The Textual front end: app, conversation, blocks, approval bar, input box, dialogs.

The only package that may import textual; what it shares with the plain REPL lives in
`hermes.frontends.common`.
"""
