"""GOOSE (IEC 61850-8-1): frames, publisher, subscriber, capture decoding, scapy layer."""
