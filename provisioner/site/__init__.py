"""The status site: who is integrated where, since when, and what expires (static HTML)."""
