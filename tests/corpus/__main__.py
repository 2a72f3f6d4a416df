"""Write LISTING.md next to this file: ``cd tests && python -m corpus``."""
from pathlib import Path

from corpus import listing, load

(Path(__file__).parent / "LISTING.md").write_text(listing(load()), encoding="utf-8")
