"""Inserting a group commit's rows with less overhead than SQLAlchemy's executemany.

For every row of an executemany SQLAlchemy builds and processes parameters in
Python; for the history and step rows of a worker's round that costs about as
much as SQLite's own work. On SQLite the rows go to the driver directly,
converted by the columns' own bind processors (so they are stored as
SQLAlchemy would store them, but None as NULL, which reads back the same).
Other databases keep SQLAlchemy's path, whose multi-row VALUES batching saves
network round trips there.
"""
from operator import itemgetter

from sqlalchemy import insert


class FastInsert:

    def __init__(self, table):
        self.statement = insert(table)
        self.table = table
        self._prepared = {}  # column names -> (SQL text, row -> values getter, [(position, bind processor)])

    def __call__(self, connection, rows):
        """Inserts `rows` (dicts with the same keys)."""
        if connection.dialect.name != "sqlite":
            connection.execute(self.statement, rows)
            return
        sql, values_of, processors = self._prepare(connection.dialect, tuple(rows[0]))
        parameters = []
        for row in rows:
            values = list(values_of(row))
            for position, process in processors:
                if values[position] is not None:
                    values[position] = process(values[position])
            parameters.append(tuple(values))
        connection.exec_driver_sql(sql, parameters)

    def _prepare(self, dialect, names):
        if names not in self._prepared:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(names))
            order = list(compiled.positiontup)
            processors = [(position, self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                          for position, name in enumerate(order)]
            values_of = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
            self._prepared[names] = (compiled.string, values_of, [(p, f) for p, f in processors if f is not None])
        return self._prepared[names]
