"""Text generators behind one protocol (`base.TextGenerator`) and the chain that picks one."""
