"""IEC 61850 logging over 8-2: log control blocks, the logs (journals) they feed, queries."""
