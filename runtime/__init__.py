"""Hand-written runtime: I/O, timing and wiring around the generated codecs."""
