"""Sampled Values (IEC 61850-9-2) runtime: stream descriptions, fast paths, publisher, subscriber."""
