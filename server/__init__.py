"""The cutis service: app factory, database, GraphQL API, workers, integrations and CLI."""
