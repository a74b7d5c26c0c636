"""The tooling around the platform: the `coursegraph` command (cli.py), the one-command dev run (devrun.py)
with its embedded PostgreSQL/Redis and process supervisor, the seed runner and the settings reference.
Nothing here runs inside a subgraph: the kernel (subgraphs/core) and the domains never import it."""
