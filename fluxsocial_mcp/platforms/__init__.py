"""Publishing adapters behind the ``Publisher`` Protocol, and each platform's rules."""
