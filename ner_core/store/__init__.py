"""The database: its schema (tables.py) and the Store that opens it and holds the transactions (database.py)."""
