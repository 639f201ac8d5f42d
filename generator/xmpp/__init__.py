"""Generator of the IEC 61850-8-2 (XMPP) code: bindings, codec, services, stanza plugin."""
