"""Tree-sitter tag queries, one folder per language (see README.md here)."""
