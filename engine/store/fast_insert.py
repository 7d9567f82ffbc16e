"""Inserting a group commit's rows with less overhead than SQLAlchemy's executemany.

For every row of an executemany SQLAlchemy builds and processes parameters in
Python; for the history and step rows of a worker's round that costs about as
much as SQLite's own work. On SQLite the rows go to the driver directly,
converted by the columns' own bind processors (so they are stored exactly as
SQLAlchemy would store them). Other databases keep SQLAlchemy's path, whose
multi-row VALUES batching saves network round trips there.
"""
from sqlalchemy import insert


class FastInsert:

    def __init__(self, table):
        self.statement = insert(table)
        self.table = table
        self._prepared = {}  # column names -> (SQL text, [(column name, bind processor or None)])

    def __call__(self, connection, rows):
        """Inserts `rows` (dicts with the same keys)."""
        if connection.dialect.name != "sqlite":
            connection.execute(self.statement, rows)
            return
        sql, columns = self._prepare(connection.dialect, tuple(rows[0]))
        connection.exec_driver_sql(sql, [tuple(row[name] if process is None else process(row[name])
                                               for name, process in columns) for row in rows])

    def _prepare(self, dialect, names):
        if names not in self._prepared:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(names))
            columns = [(name, self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                       for name in compiled.positiontup]
            self._prepared[names] = (compiled.string, columns)
        return self._prepared[names]
