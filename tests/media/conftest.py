# The fixtures live with the helpers they use; importing them here registers them.
from .support import certificate, tls_server  # noqa: F401
