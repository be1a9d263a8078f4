"""The shared core: plain async services with no HTTP and no MCP in them."""
