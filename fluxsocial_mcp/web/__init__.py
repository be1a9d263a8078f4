"""Server-rendered pages: the sandbox post page and (later) the web app."""
