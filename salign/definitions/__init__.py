"""What people agree on: strict models of every definitions file and the rule language."""
