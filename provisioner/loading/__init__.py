"""Reading files: the strict YAML loader, loading into models, and the generated JSON Schemas."""
