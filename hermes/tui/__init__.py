"""The Textual front end. The only package that may import textual."""
