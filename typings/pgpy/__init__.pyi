# Partial stubs for pgpy 0.6.0: only what appc.signing calls.
# appc parses keys and signatures itself; pgpy only unlocks secret key packets.
from pgpy import errors as errors, packet as packet

__version__: str
