"""The documents an integration carries: the CDA, the signed form, homologation evidence."""
