"""Raw Ethernet I/O on Linux: AF_PACKET sockets, BPF filters, the TPACKET_V3 ring, netns helpers."""
