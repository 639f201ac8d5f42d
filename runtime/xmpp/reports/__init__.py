"""IEC 61850 reporting over 8-2: report control blocks, the reporting engine, the buffer
journal, the informationReport on the wire, and the client's subscription."""
