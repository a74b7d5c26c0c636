"""Where lab environments run: `LabRuntime` (base.py) and its implementations (Docker, local processes)."""
