"""The generator: front ends (ASN.1, XSD, SCL) → typed IR → jinja2 templates → ``generated/``."""
