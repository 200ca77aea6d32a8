"""The GraphQL API (Strawberry types stop here; the contract is graphql/schema.graphql)."""
