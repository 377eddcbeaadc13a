"""Database writes that must survive a PostgreSQL restart.

A job that has just had an email accepted by the mail server must record it, or the next run
sends it again. If the database restarts at that moment, the job's connection is dead; this
closes it, waits for the server to come back and writes again (a few seconds at most), instead
of giving up and leaving a duplicate email for the next run. Only outside a transaction: inside
one, the work done so far is gone with the connection, and retrying would be wrong."""
import functools
import hashlib
import logging
import time

from django.db import InterfaceError, OperationalError, connection
from django.db.models import Value
from django.db.transaction import TransactionManagementError

log = logging.getLogger(__name__)


def retry_on_disconnect(func, *args, attempts=15, delay=1.0, **kwargs):
    for attempt in range(1, attempts + 1):
        try:
            return func(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if attempt == attempts or connection.in_atomic_block:
                raise
            log.warning("database unreachable (%s); retrying %s in %ss", exc, func.__name__, delay)
            connection.close()
            time.sleep(delay)


# --- The jobs' set-based statements: the only place that knows SQLite from PostgreSQL -----------

def skip_locked():
    """` FOR UPDATE SKIP LOCKED` where the database has row locks. SQLite (make run's default)
    has none: it runs one writer at a time anyway."""
    return " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""


def sql_datetime(value):
    return connection.ops.adapt_datetimefield_value(value)


def returning_rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def placeholders(values):
    return ", ".join(["%s"] * len(values))


# --- A hot look-up's SQL written once per process -----------------------------------------------

@functools.cache
def _prepared_form(sql):
    """(statement name, the SQL with PostgreSQL's numbered parameters, their count)."""
    parts = sql.split("%s")
    if any("%" in part for part in parts):
        raise ValueError("only %s placeholders can be prepared")
    body = "".join(f"{part}${number}" for number, part in enumerate(parts[:-1], 1)) + parts[-1]
    return f"hot_{hashlib.sha1(sql.encode()).hexdigest()[:16]}", body, len(parts) - 1


def execute_prepared(cursor, sql, params):
    """`cursor.execute(sql, params)`, planned once per database connection on PostgreSQL.

    Planning a joined look-up cost PostgreSQL several times running it (bench/NOTES.md), and a
    connection lives for many requests (CONN_MAX_AGE). The statement is prepared on the first
    use on each connection and executed by name after; a prepared statement outlives a rolled
    back transaction, and a new connection starts a new set. The PREPARE goes through the
    driver's own cursor, as Django's connection set-up does: it is per connection, not per
    request, and stays out of the query counts. Not for a pooler that hands one client's
    statements to another server connection (PgBouncer in transaction mode)."""
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        return
    name, body, count = _prepared_form(sql)
    raw = connection.connection
    if getattr(connection, "_prepared_on", None) is not raw:
        connection._prepared_on, connection._prepared = raw, set()
    if name not in connection._prepared:
        with connection.wrap_database_errors:
            cursor.cursor.execute(f"PREPARE {name} AS {body}")
        connection._prepared.add(name)
    cursor.execute(f"EXECUTE {name}({placeholders(range(count))})" if count else f"EXECUTE {name}",
                   params)


class Columns:
    """A model's concrete fields (all, or those named and the primary key) as a SELECT list under
    a table alias, and the instance built back from them as the ORM builds it (the database's
    values converted, then Model.from_db, which defers the fields left out)."""

    def __init__(self, model, alias, names=None):
        self.model = model
        self.fields = model._meta.concrete_fields
        if names is not None:  # as only(): these fields and the primary key, the rest deferred
            keep = {model._meta.pk.name, *names}
            unknown = keep - {field.name for field in self.fields}
            if unknown:
                raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
            self.fields = [field for field in self.fields if field.name in keep]
        self.names = [field.attname for field in self.fields]
        self.sql = ", ".join(f"{alias}.{connection.ops.quote_name(field.column)}"
                             for field in self.fields)
        self._converters = {}

    def __len__(self):
        return len(self.fields)

    def build(self, values):
        """The instance, or None when the row's values are all NULL (a LEFT JOIN found none)."""
        if all(value is None for value in values):
            return None
        values = _converted(values, _converters_now(self._converters, self.fields))
        return self.model.from_db(connection.alias, self.names, values)


def _converters_now(cache, fields):
    """(index, convert, expression) for each of `fields` whose value the ORM converts from the
    database's (a SQLite datetime is text, its EXISTS 0 or 1), kept in `cache` per database
    vendor. A field of no model (BooleanField() for an EXISTS) stands for an expression of its
    type; None for a value taken as it comes."""
    if connection.vendor not in cache:
        found = []
        for index, field in enumerate(fields):
            if field is None:
                continue
            expression = (field.get_col(field.model._meta.db_table) if hasattr(field, "model")
                          else Value(None, output_field=field))
            for convert in (connection.ops.get_db_converters(expression)
                            + field.get_db_converters(connection)):
                found.append((index, convert, expression))
        cache[connection.vendor] = found
    return cache[connection.vendor]


def _converted(values, converters):
    values = list(values)
    for index, convert, expression in converters:
        values[index] = convert(values[index], expression, connection)
    return values


class SelectRelated:
    """`model.objects.select_related(*paths).filter(…)` for queries made on every request of a
    page, where Django compiling the same joined queryset again costs more than running it
    (bench/RESULTS.md): the SQL is written once per process from the models' fields, and the
    instances come back linked as select_related links them. `where` is SQL naming the tables
    by their path, quoted: `"t"` for `model`, `"order"`, `"order__provisioning"`; `extra` maps
    attributes of the first instance to SQL expressions, as annotate() would add them (or to
    (SQL, a model field): the value converted as that field's, as annotate's output_field); `only`
    names the fields to load as only() does (`"status"`, `"order__number"`), the others deferred;
    `then` is SQL after the where (ORDER BY)."""

    def __init__(self, model, *paths, where, extra=None, lock=False, only=None, then=""):
        quote = connection.ops.quote_name
        self.lock = lock
        self.extra = [(name, sql[1] if isinstance(sql, tuple) else None)
                      for name, sql in (extra or {}).items()]  # (attribute, its field or None)
        self._extra_converters = {}

        def loaded(path):
            if only is None:
                return None
            prefix = f"{path}__" if path else ""
            return [name[len(prefix):] for name in only
                    if name.startswith(prefix) and "__" not in name[len(prefix):]]

        self.columns = [Columns(model, quote("t"), loaded(""))]
        self.links = []  # (parent index, the parent's field or reverse one-to-one)
        joins, aliases, models = [], {"": 0}, {"": model}
        for path in paths:
            parent_path, _, name = path.rpartition("__")
            parent = models[parent_path]
            field = parent._meta.get_field(name)
            child = field.related_model
            alias, parent_alias = quote(path), quote(parent_path or "t")
            if field.concrete:  # a foreign key or one-to-one of the parent
                if field not in self.columns[aliases[parent_path]].fields:
                    raise ValueError(f"{path} is joined but {field.name} is not loaded")
                on = (f"{alias}.{quote(child._meta.pk.column)} = "
                      f"{parent_alias}.{quote(field.column)}")
                kind = "LEFT JOIN" if field.null else "JOIN"
            else:  # the other side of a one-to-one
                on = (f"{alias}.{quote(field.field.column)} = "
                      f"{parent_alias}.{quote(parent._meta.pk.column)}")
                kind = "LEFT JOIN"
            joins.append(f"{kind} {quote(child._meta.db_table)} {alias} ON {on}")
            aliases[path], models[path] = len(self.columns), child
            self.columns.append(Columns(child, alias, loaded(path)))
            self.links.append((aliases[parent_path], field))
        select = ", ".join([*(columns.sql for columns in self.columns),
                            *(sql[0] if isinstance(sql, tuple) else sql
                              for sql in (extra or {}).values())])
        self.select = (f"SELECT {select} FROM {quote(model._meta.db_table)} {quote('t')} "
                       f"{' '.join(joins)} WHERE {where}{' ' + then if then else ''}")
        # FOR UPDATE where the database has row locks; SQLite (make run's default) runs one
        # writer at a time anyway, as select_for_update() there.
        self.sql = self.select + (" FOR UPDATE" if lock and connection.features.has_select_for_update
                                  else "")

    def first(self, params):
        """The instance of the first row (the where should find one at most), or None. Planned
        once per connection (execute_prepared): a look-up by key has one plan whatever its
        values."""
        if self.lock and not connection.in_atomic_block:
            raise TransactionManagementError("a row lock outside a transaction ends at once")
        with connection.cursor() as cursor:
            execute_prepared(cursor, self.sql, params)
            row = cursor.fetchone()
        return None if row is None else self._instance(row)

    def all(self, params, limit=None, offset=0):
        """The instances of every row, or of `limit` rows after the first `offset`. Planned at
        each call, as the ORM's are: a list's best plan can depend on its values (a range of
        dates, how many rows a rep has)."""
        if self.lock:
            raise TransactionManagementError("rows are locked one look-up at a time (first())")
        sql = self.select if limit is None else f"{self.select} LIMIT %s OFFSET %s"
        with connection.cursor() as cursor:
            cursor.execute(sql, params if limit is None else [*params, limit, offset])
            return [self._instance(row) for row in cursor.fetchall()]

    def iterator(self, params, chunk_size):
        """The instances of every row, fetched `chunk_size` rows at a time through the cursor the
        ORM's iterator() uses (server-side on PostgreSQL): an export of every row."""
        if self.lock:
            raise TransactionManagementError("rows are locked one look-up at a time (first())")
        with connection.chunked_cursor() as cursor:
            cursor.execute(self.select, params)
            while rows := cursor.fetchmany(chunk_size):
                yield from (self._instance(row) for row in rows)

    def _instance(self, row):
        instances, start = [], 0
        for columns in self.columns:
            instances.append(columns.build(row[start:start + len(columns)]))
            start += len(columns)
        for child, (parent, field) in zip(instances[1:], self.links):
            if instances[parent] is None:
                continue
            if field.concrete:
                setattr(instances[parent], field.name, child)
            elif child is None:
                # Absent, as select_related leaves it: reading it raises DoesNotExist, no query.
                field.set_cached_value(instances[parent], None)
            else:
                setattr(instances[parent], field.get_accessor_name(), child)
        extras = _converted(row[start:], _converters_now(
            self._extra_converters, [field for _, field in self.extra]))
        for (name, _), value in zip(self.extra, extras):
            setattr(instances[0], name, value)
        return instances[0]


@functools.cache
def _update_statement(model, names, key):
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    return (f"UPDATE {quote(model._meta.db_table)} SET {assignments} "
            f"WHERE {quote(model._meta.get_field(key).column)} = %s"), fields


def update_rows(model, key, value, values):
    """`model.objects.filter(**{key: value}).update(**values)` for a write made on every submit of
    a page: the UPDATE written once per process (and prepared per connection), the values
    prepared for the database by their fields as the ORM prepares them. Returns the rows
    updated."""
    sql, fields = _update_statement(model, tuple(values), key)
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, [*params, value])
        return cursor.rowcount
