"""Tenancy and the persistence foundation: base, TenantScoped, scoping hooks, keys, principals.

`tenants` imports only the standard library and SQLAlchemy (ARCHITECTURE.md).
"""
