"""SNTP (RFC 5905, client and server modes 3 and 4): the time synchronisation 8-2 asks for."""
