"""Code emitted by ``gen61850 generate`` from ``specs/``. Never edit by hand."""
