"""ASN.1 front end and BER code generation (the IEC 61850-9-2 SV module)."""
