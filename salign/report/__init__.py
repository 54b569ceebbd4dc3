"""Results and executed notebooks to shareable HTML: pages, cards, the index, PII and safety checks."""
