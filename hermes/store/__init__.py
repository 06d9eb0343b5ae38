"""The SQLite session database: connection, migrations, sessions and messages, search, drafts, export."""
