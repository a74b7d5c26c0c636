"""Lab sessions: a development environment per student, with a lifecycle kept in PostgreSQL."""
