"""crmo-extract: CRMO/CNO papers in, validated records and a meta-analysis table out."""
__version__ = "0.1.0"
