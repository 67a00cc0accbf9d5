/*
 * botkit.protocol.binance._carchive: rows of Binance's trade and aggTrade archives
 * (CSV) to Trade events, compiled.
 *
 * Why this exists: a month of trades is tens of millions of rows, and in Python each row
 * costs its split, two decimals, two ints and an event. This module does exactly what
 * ArchiveRows.parse_run does (botkit/protocol/binance/_archive.py, the reference: the
 * tests compare the two), in place in the read block, for as long as each row is a plain
 * one; any other row (a header, a bad row, a value it has not seen) is left to the
 * Python path, which says what is wrong with it. Prices and sizes come from a cache of
 * their text; a text not in it is built by the ``value`` callable (ArchiveRows._value:
 * checked, cached) and the row goes on.
 *
 * RowDecoder(event, venue, symbol, venue_symbol, buy, sell, time_at, maker_at,
 *            widths, cache, value)
 * RowDecoder.run(block, pos, end, out, limit) -> (pos, rows)
 * build(cls, fields, columns) -> [events]   (a Parquet table's columns back to events)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#include "../_cslots.h"

/* Trade's fields, in constructor order. */
enum { F_VENUE, F_SYMBOL, F_PRICE, F_SIZE, F_SIDE, F_ID, F_TS_EXCHANGE, F_TS_RECV, F_VENUE_SYMBOL, N_EVENT };
static const char *const EVENT_FIELDS[N_EVENT] = {
    "venue", "symbol", "price", "size", "side", "trade_id", "ts_exchange", "ts_recv", "venue_symbol",
};
#define MAX_FIELDS 8
#define US_FROM 1000000000000000LL /* a time this large is in microseconds, else milliseconds */

typedef struct {
    PyObject_HEAD
    PyTypeObject *event;
    Py_ssize_t event_off[N_EVENT];
    PyObject *venue, *symbol, *venue_symbol, *buy, *sell;
    PyObject *cache; /* dict: text (bytes) -> Decimal, shared with the Python path */
    PyObject *value; /* callable(bytes) -> Decimal, raising ValueError for a text it refuses */
    int time_at, maker_at;
    int widths[2];
} RowDecoder;

/* A run of ASCII digits (at most 18: beyond, the Python path's int() decides), or -1. */
static long long
digits(const char *s, Py_ssize_t n)
{
    if (n <= 0 || n > 18)
        return -1;
    long long v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The Decimal of a price or size text (new reference): cached, else from ``value``.
 * NULL with no error set: the row is the Python path's (it names what is wrong). */
static PyObject *
decimal(RowDecoder *self, const char *s, Py_ssize_t n)
{
    PyObject *key = PyBytes_FromStringAndSize(s, n);
    if (key == NULL)
        return NULL;
    PyObject *v = PyDict_GetItemWithError(self->cache, key);
    if (v != NULL) {
        Py_DECREF(key);
        return Py_NewRef(v);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    v = PyObject_CallOneArg(self->value, key);
    Py_DECREF(key);
    if (v == NULL && PyErr_ExceptionMatches(PyExc_ValueError))
        PyErr_Clear();
    return v;
}

/* One row (no line end). 1: appended, 0: the Python path's, -1: an error. */
static int
row(RowDecoder *self, const char *s, Py_ssize_t n, PyObject *out)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    const char *start[MAX_FIELDS + 1];
    Py_ssize_t len[MAX_FIELDS + 1];
    int count = 0;
    Py_ssize_t from = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ',') {
            if (count == MAX_FIELDS)
                return 0;
            start[count] = s + from;
            len[count] = i - from;
            count++;
            from = i + 1;
        }
    }
    if (count != self->widths[0] && count != self->widths[1])
        return 0;
    long long id = digits(start[0], len[0]);
    long long t = digits(start[self->time_at], len[self->time_at]);
    if (id < 0 || t < 0 || t >= 9000000000000000LL)
        return 0;
    long long ns = t >= US_FROM ? t * 1000 : t * 1000000;
    const char *m = start[self->maker_at];
    Py_ssize_t ml = len[self->maker_at];
    int maker;
    if ((ml == 4 && (memcmp(m, "True", 4) == 0 || memcmp(m, "true", 4) == 0)))
        maker = 1;
    else if (ml == 5 && (memcmp(m, "False", 5) == 0 || memcmp(m, "false", 5) == 0))
        maker = 0;
    else
        return 0;
    PyObject *price = decimal(self, start[1], len[1]);
    if (price == NULL)
        return PyErr_Occurred() ? -1 : 0;
    PyObject *size = decimal(self, start[2], len[2]);
    if (size == NULL) {
        Py_DECREF(price);
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *tid = PyLong_FromLongLong(id);
    PyObject *ts = PyLong_FromLongLong(ns);
    PyObject *obj = tid && ts ? self->event->tp_alloc(self->event, 0) : NULL;
    if (obj == NULL) {
        Py_XDECREF(tid);
        Py_XDECREF(ts);
        Py_DECREF(price);
        Py_DECREF(size);
        return -1;
    }
    SLOT(obj, self->event_off[F_VENUE]) = Py_NewRef(self->venue);
    SLOT(obj, self->event_off[F_SYMBOL]) = Py_NewRef(self->symbol);
    SLOT(obj, self->event_off[F_PRICE]) = price;
    SLOT(obj, self->event_off[F_SIZE]) = size;
    SLOT(obj, self->event_off[F_SIDE]) = Py_NewRef(maker ? self->sell : self->buy);
    SLOT(obj, self->event_off[F_ID]) = tid;
    SLOT(obj, self->event_off[F_TS_EXCHANGE]) = Py_NewRef(ts);
    SLOT(obj, self->event_off[F_TS_RECV]) = ts;
    SLOT(obj, self->event_off[F_VENUE_SYMBOL]) = Py_NewRef(self->venue_symbol);
    int rc = PyList_Append(out, obj);
    Py_DECREF(obj);
    return rc < 0 ? -1 : 1;
}

/* run(block, pos, end, out, limit) -> (pos, rows): the rows of ``block[pos:end]`` (whole
 * lines) while each is a plain one, until ``out`` holds ``limit``. */
static PyObject *
RowDecoder_run(RowDecoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyBytes_CheckExact(args[0]) || !PyList_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "run(block: bytes, pos: int, end: int, out: list, limit: int)");
        return NULL;
    }
    PyObject *block = args[0], *out = args[3];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]), end = PyLong_AsSsize_t(args[2]), limit = PyLong_AsSsize_t(args[4]);
    if ((pos == -1 || end == -1 || limit == -1) && PyErr_Occurred())
        return NULL;
    Py_INCREF(block);
    const char *buf = PyBytes_AS_STRING(block);
    if (end > PyBytes_GET_SIZE(block))
        end = PyBytes_GET_SIZE(block);
    if (pos < 0)
        pos = 0;
    Py_ssize_t rows = 0;
    while (pos < end && PyList_GET_SIZE(out) < limit) {
        const char *nl = memchr(buf + pos, '\n', end - pos);
        Py_ssize_t n = (nl != NULL ? nl - buf : end) - pos;
        int rc = row(self, buf + pos, n, out);
        if (rc < 0) {
            Py_DECREF(block);
            return NULL;
        }
        if (rc == 0)
            break;
        pos += n + 1;
        rows++;
    }
    Py_DECREF(block);
    if (pos > end)
        pos = end;
    return Py_BuildValue("(nn)", pos, rows);
}

static int
RowDecoder_init(RowDecoder *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"event", "venue", "symbol", "venue_symbol", "buy", "sell", "time_at", "maker_at",
                             "widths", "cache", "value", NULL};
    PyObject *event, *widths;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OOOOOiiOO!O", kwlist, &PyType_Type, &event, &self->venue,
                                     &self->symbol, &self->venue_symbol, &self->buy, &self->sell, &self->time_at,
                                     &self->maker_at, &widths, &PyDict_Type, &self->cache, &self->value))
        return -1;
    if (!PyArg_ParseTuple(widths, "ii", &self->widths[0], &self->widths[1]))
        return -1;
    if (self->time_at < 0 || self->time_at >= MAX_FIELDS || self->maker_at < 0 || self->maker_at >= MAX_FIELDS ||
        self->widths[0] > MAX_FIELDS || self->widths[1] > MAX_FIELDS || self->widths[0] <= self->maker_at ||
        self->widths[0] <= self->time_at) {
        PyErr_SetString(PyExc_ValueError, "RowDecoder: field positions out of range");
        return -1;
    }
    self->event = (PyTypeObject *)Py_NewRef(event);
    Py_INCREF(self->venue);
    Py_INCREF(self->symbol);
    Py_INCREF(self->venue_symbol);
    Py_INCREF(self->buy);
    Py_INCREF(self->sell);
    Py_INCREF(self->cache);
    Py_INCREF(self->value);
    for (int i = 0; i < N_EVENT; i++)
        if ((self->event_off[i] = slot_offset(self->event, EVENT_FIELDS[i])) < 0)
            return -1;
    return 0;
}

static int
RowDecoder_traverse(RowDecoder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->event);
    Py_VISIT(self->venue);
    Py_VISIT(self->symbol);
    Py_VISIT(self->venue_symbol);
    Py_VISIT(self->buy);
    Py_VISIT(self->sell);
    Py_VISIT(self->cache);
    Py_VISIT(self->value);
    return 0;
}

static int
RowDecoder_clear(RowDecoder *self)
{
    Py_CLEAR(self->event);
    Py_CLEAR(self->venue);
    Py_CLEAR(self->symbol);
    Py_CLEAR(self->venue_symbol);
    Py_CLEAR(self->buy);
    Py_CLEAR(self->sell);
    Py_CLEAR(self->cache);
    Py_CLEAR(self->value);
    return 0;
}

static void
RowDecoder_dealloc(RowDecoder *self)
{
    PyObject_GC_UnTrack(self);
    RowDecoder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef RowDecoder_methods[] = {
    {"run", (PyCFunction)(void (*)(void))RowDecoder_run, METH_FASTCALL,
     "run(block, pos, end, out, limit) -> (pos, rows)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RowDecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "botkit.protocol.binance._carchive.RowDecoder",
    .tp_basicsize = sizeof(RowDecoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Rows of a Binance trade or aggTrade archive to Trade events (see the module).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)RowDecoder_init,
    .tp_traverse = (traverseproc)RowDecoder_traverse,
    .tp_clear = (inquiry)RowDecoder_clear,
    .tp_dealloc = (destructor)RowDecoder_dealloc,
    .tp_methods = RowDecoder_methods,
};

/* A column of build(): a list of values, a buffer of int64 (or bool) values made into
 * ints (bools) here, or a (values, indices) pair, indices a buffer of signed ints into
 * the list ``values`` (a dictionary-encoded Arrow column: each distinct value made once). */
enum { COL_LIST, COL_INTS, COL_BOOLS, COL_INDEXED };
typedef struct {
    int kind;
    PyObject *list; /* COL_LIST: the values; COL_INDEXED: the distinct values */
    Py_buffer view; /* COL_INTS, COL_BOOLS, COL_INDEXED: the numbers (view.obj NULL if none) */
} Column;

static Py_ssize_t
column_open(Column *col, PyObject *obj)
{
    col->view.obj = NULL;
    col->list = NULL;
    PyObject *numbers = obj;
    if (PyList_Check(obj)) {
        col->kind = COL_LIST;
        col->list = obj;
        return PyList_GET_SIZE(obj);
    }
    if (PyTuple_Check(obj) && PyTuple_GET_SIZE(obj) == 2 && PyList_Check(PyTuple_GET_ITEM(obj, 0))) {
        col->kind = COL_INDEXED;
        col->list = PyTuple_GET_ITEM(obj, 0);
        numbers = PyTuple_GET_ITEM(obj, 1);
    }
    if (PyObject_GetBuffer(numbers, &col->view, PyBUF_FORMAT | PyBUF_ND) < 0) {
        col->view.obj = NULL;
        PyErr_SetString(PyExc_TypeError, "build: a column is a list, an int64 buffer or (values, indices)");
        return -1;
    }
    const char *format = col->view.format ? col->view.format : "B";
    if (*format == '=' || *format == '<' || *format == '@')
        format++;
    int size = (int)col->view.itemsize;
    int ok = col->view.ndim == 1;
    if (col->list == NULL && *format == '?' && size == 1)
        col->kind = COL_BOOLS;
    else if (col->list == NULL)
        col->kind = COL_INTS, ok = ok && size == 8 && strchr("qlQL", *format) && format[1] == 0;
    else
        ok = ok && strchr("bhilq", *format) && format[1] == 0 && (size == 1 || size == 2 || size == 4 || size == 8);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "build: a column of numbers of format %s (itemsize %d)", format, size);
        return -1;
    }
    return col->view.shape[0];
}

static inline PyObject *
column_get(const Column *col, Py_ssize_t i)
{
    const char *at = (const char *)col->view.buf;
    long long index;
    switch (col->kind) {
    case COL_LIST:
        return Py_NewRef(PyList_GET_ITEM(col->list, i));
    case COL_INTS:
        return PyLong_FromLongLong(((const long long *)at)[i]);
    case COL_BOOLS:
        return PyBool_FromLong(at[i]);
    default:
        switch (col->view.itemsize) {
        case 1: index = ((const signed char *)at)[i]; break;
        case 2: index = ((const short *)at)[i]; break;
        case 4: index = ((const int *)at)[i]; break;
        default: index = ((const long long *)at)[i]; break;
        }
        if (index < 0 || index >= PyList_GET_SIZE(col->list)) {
            PyErr_Format(PyExc_IndexError, "build: index %lld out of %zd values", index, PyList_GET_SIZE(col->list));
            return NULL;
        }
        return Py_NewRef(PyList_GET_ITEM(col->list, (Py_ssize_t)index));
    }
}

/* build(cls, fields, columns) -> [cls events]: the events whose field ``fields[j]`` is
 * row i of ``columns[j]`` (see Column), set into the slots as the constructor would (a
 * Parquet table's columns back to events: botkit/sources/_parquet.py, whose fallback is
 * map(make, ...) over the same columns as lists). */
static PyObject *
build(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyType_Check(args[0]) || !PyTuple_Check(args[1]) || !PyList_Check(args[2]) ||
        PyTuple_GET_SIZE(args[1]) != PyList_GET_SIZE(args[2]) || PyTuple_GET_SIZE(args[1]) > 16) {
        PyErr_SetString(PyExc_TypeError, "build(cls: type, fields: tuple[str, ...], columns: list)");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    Py_ssize_t nfields = PyTuple_GET_SIZE(args[1]), rows = -1, opened = 0;
    Py_ssize_t offsets[16];
    Column columns[16];
    PyObject *out = NULL;
    for (; opened < nfields; opened++) {
        PyObject *name = PyTuple_GET_ITEM(args[1], opened);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "build: fields are names");
            goto done;
        }
        if ((offsets[opened] = slot_offset(type, PyUnicode_AsUTF8(name))) < 0)
            goto done;
        Py_ssize_t n = column_open(&columns[opened], PyList_GET_ITEM(args[2], opened));
        if (n < 0) {
            opened++; /* its buffer, if any, is released below */
            goto done;
        }
        if (rows >= 0 && n != rows) {
            opened++;
            PyErr_SetString(PyExc_ValueError, "build: columns of different lengths");
            goto done;
        }
        rows = n;
    }
    if (rows < 0)
        rows = 0;
    if ((out = PyList_New(rows)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < rows; i++) {
        PyObject *obj = type->tp_alloc(type, 0);
        if (obj == NULL)
            goto fail;
        PyList_SET_ITEM(out, i, obj);
        for (Py_ssize_t j = 0; j < nfields; j++) {
            PyObject *value = column_get(&columns[j], i);
            if (value == NULL)
                goto fail;
            SLOT(obj, offsets[j]) = value;
        }
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    for (Py_ssize_t j = 0; j < opened; j++)
        if (columns[j].view.obj != NULL)
            PyBuffer_Release(&columns[j].view);
    return out;
}

static PyMethodDef module_methods[] = {
    {"build", (PyCFunction)(void (*)(void))build, METH_FASTCALL, "build(cls, fields, columns) -> [events]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "botkit.protocol.binance._carchive",
    "Binance archive rows to Trade events, compiled (see the source).", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__carchive(void)
{
    if (PyType_Ready(&RowDecoderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "RowDecoder", (PyObject *)&RowDecoderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
