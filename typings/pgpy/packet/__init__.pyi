# Partial stubs for pgpy 0.6.0 (pgpy/packet): the secret key packet API.
# ``Packet(data)`` dispatches on the packet header and consumes ``data``.

class _KeyMaterial:
    # A cryptography private key object (RSA, ECDSA, Ed25519, DSA...).
    def __privkey__(self) -> object: ...

class Packet:
    def __new__(cls, packet: bytearray) -> _SecretKeyPacket: ...

class _SecretKeyPacket(Packet):
    keymaterial: _KeyMaterial
    @property
    def protected(self) -> bool: ...
    def unprotect(self, passphrase: str) -> None: ...
