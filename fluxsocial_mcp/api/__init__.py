"""REST API v1: parse → invoke the operation → render."""
