"""IEC 61850-8-2 runtime: XMPP transport, association, ACSI client and server over slixmpp."""
