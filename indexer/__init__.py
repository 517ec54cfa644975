"""regwatch indexer: sources -> fetch -> parse -> passages -> embeddings -> Chroma + lexical index + ledger."""

__version__ = "0.1.0"
