"""Fetching watched sources: HTTP with politeness and caching, feeds, listing pages, per-source health."""

from .feeds import FeedItem, parse_feed
from .http import Fetcher, FetchResult
from .links import Link, extract_links

__all__ = ["FeedItem", "FetchResult", "Fetcher", "Link", "extract_links", "parse_feed"]
