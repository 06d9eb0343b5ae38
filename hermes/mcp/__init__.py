"""MCP servers as tools: client and manager, one connection, stdio transport, tool adapter, status."""
