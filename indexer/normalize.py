"""Text normalisation shared by every parser, and the whitespace-blind content hash used for change detection."""

from __future__ import annotations

import re

from indexer.models import sha256

# Invisible characters that survive copy-paste from web pages and Word: they break regexes like ^第.+条 and make
# otherwise identical texts hash differently. Soft hyphen is included because PDFs and Word sprinkle it mid-word.
_DROP = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad"), None)
# Space-like characters become a plain space. NFKC would do this too, but it would also rewrite Chinese full-width
# punctuation (，。：（）) that the structure parser and quotations rely on, so we map only what we mean.
_SPACES = dict.fromkeys(map(ord, "\u3000\u00a0\u202f\u205f\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"), " ")
_BREAKS = dict.fromkeys(map(ord, "\f\v\u2028\u2029\u0085"), "\n")
_TABLE = {**_DROP, **_SPACES, **_BREAKS}

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_RUNS = re.compile(r"[ \t]+")
_EDGES = re.compile(r"^ +| +$", re.MULTILINE)
_BLANKS = re.compile(r"\n{3,}")
_WS = re.compile(r"\s+")


def normalize_text(s: str) -> str:
    """Unify line ends, drop invisible characters, collapse spaces and blank-line runs; keep everything else."""
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = s.translate(_TABLE)
    s = _CONTROL.sub("", s)
    s = _RUNS.sub(" ", s)
    # Leading spaces go too: Chinese texts indent paragraphs with two U+3000, and "　　第一条" must still start a line
    # with 第一条 for article detection.
    s = _EDGES.sub("", s)
    s = _BLANKS.sub("\n\n", s)
    return s.strip("\n")


def content_hash(text: str) -> str:
    """sha256 of the normalised text with all whitespace removed: re-wrapping or re-spacing is not a new version."""
    return sha256(_WS.sub("", normalize_text(text)))
