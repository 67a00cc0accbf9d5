/*
 * botkit.protocol._cbook: an order book side's update loop, and depth levels from their
 * text, compiled.
 *
 * update_side is the twin of _book._update_side (the reference, which the tests compare
 * this with): a side keeps a dict of price -> level tuple and the prices in a sorted
 * list, best last (bids ascending, asks descending). Changes come mostly near the top of
 * the book, so the search starts at the best end and gallops outwards.
 *
 * text_levels is the twin of _common.text_levels: ``[(price text, size text), ...]`` in,
 * ``((Decimal, Decimal), ...)`` out, each Decimal from a cache by its text. A feed repeats
 * its prices (and many sizes), and a cached Decimal costs neither building nor checking
 * again; it also keeps its hash, which a book's dict asks for on every change and
 * which Decimal computes slowly. Only what the text shows plainly valid is taken here
 * (digits and one dot, within the bounds); anything else returns None and the
 * reference decides (and raises).
 *
 * Only documented C API: the comparisons are the prices' own (Decimal's), so the order
 * is exactly the Python one. Optional: botkit runs the Python twins when not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* ``a`` sorts before ``b`` on this side: 1, 0, or -1 on error. */
static int
before(PyObject *a, PyObject *b, int descending)
{
    return PyObject_RichCompareBool(a, b, descending ? Py_GT : Py_LT);
}

/* First index of ``keys`` whose item does not sort before ``key`` (a lower bound);
 * -1 on error. Gallops from the end (the best level), then bisects. */
static Py_ssize_t
lower_bound(PyObject *keys, PyObject *key, int descending)
{
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(keys), step = 1;
    while (hi - step >= 0) {
        PyObject *item = PyList_GET_ITEM(keys, hi - step);
        Py_INCREF(item); /* a comparison may run Python code */
        int b = before(item, key, descending);
        Py_DECREF(item);
        if (b < 0)
            return -1;
        if (b) {
            lo = hi - step + 1;
            break;
        }
        hi -= step;
        step *= 2;
    }
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (mid >= PyList_GET_SIZE(keys))
            break; /* the list shrank under a comparison: stop where it ends */
        PyObject *item = PyList_GET_ITEM(keys, mid);
        Py_INCREF(item);
        int b = before(item, key, descending);
        Py_DECREF(item);
        if (b < 0)
            return -1;
        if (b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* One change: ``level`` is ``(price, size, ...)``; size 0 removes the price's level. */
static int
apply_level(PyObject *keys, PyObject *levels, PyObject *level, int descending)
{
    if (!PyTuple_Check(level) || PyTuple_GET_SIZE(level) < 2) {
        PyErr_SetString(PyExc_TypeError, "a book level must be a (price, size) tuple");
        return -1;
    }
    PyObject *price = PyTuple_GET_ITEM(level, 0);
    int keep = PyObject_IsTrue(PyTuple_GET_ITEM(level, 1));
    if (keep < 0)
        return -1;
    int present = PyDict_Contains(levels, price);
    if (present < 0)
        return -1;
    if (keep) {
        if (!present) {
            Py_ssize_t at = lower_bound(keys, price, descending);
            if (at < 0 || PyList_Insert(keys, at, price) < 0)
                return -1;
        }
        return PyDict_SetItem(levels, price, level);
    }
    if (!present)
        return 0;
    Py_INCREF(price); /* the level that holds it may be the dict's only reference */
    int rc = -1;
    if (PyDict_DelItem(levels, price) == 0) {
        Py_ssize_t at = lower_bound(keys, price, descending);
        if (at >= 0)
            rc = at < PyList_GET_SIZE(keys) ? PyList_SetSlice(keys, at, at + 1, NULL) : 0;
    }
    Py_DECREF(price);
    return rc;
}

/* update_side(keys, levels, changes, descending) -> None: see the module comment. */
static PyObject *
update_side(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "update_side(keys: list, levels: dict, changes: tuple, descending: bool)");
        return NULL;
    }
    int descending = PyObject_IsTrue(args[3]);
    if (descending < 0)
        return NULL;
    PyObject *changes = args[2];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(changes); i++)
        if (apply_level(args[0], args[1], PyTuple_GET_ITEM(changes, i), descending) < 0)
            return NULL;
    Py_RETURN_NONE;
}

static PyObject *decimal_type;
/* Entries a cache holds before it is cleared (about 4 MB with the texts). */
#define CACHE_SIZE 32768
/* Digits a plain value may have before its dot and after it (with MIN_PRICE = 1e-12 and
 * MAX_VALUE = 1e15 in _common: shorter texts are within the bounds by their shape). */
#define MAX_INTEGER_DIGITS 15
#define MAX_FRACTION_DIGITS 12

/* 1 when ``text`` is plainly a value in range (as a price when ``price``: nonzero; as a
 * size: zero allowed), 0 when the reference must decide. */
static int
plain_value(PyObject *text, int price)
{
    if (!PyUnicode_IS_ASCII(text))
        return 0;
    const char *s = (const char *)PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), integer = 0, fraction = 0;
    int dot = 0, nonzero = 0, significant = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            if (dot) {
                if (c != '0' && fraction < MAX_FRACTION_DIGITS)
                    nonzero = 1;
                fraction++;
            } else {
                significant |= c != '0';
                integer += significant;
                nonzero |= c != '0';
            }
        } else if (c == '.' && !dot && i > 0) {
            dot = 1;
        } else {
            return 0;
        }
    }
    if (n == 0 || s[n - 1] == '.' || integer > MAX_INTEGER_DIGITS)
        return 0;
    return nonzero || !price;
}

/* The Decimal of ``text`` (new reference) from ``cache``, or built and cached; NULL with
 * no error when the text is not plainly valid, NULL with an error on failure. */
static PyObject *
cached_value(PyObject *cache, PyObject *text, int price)
{
    if (!PyUnicode_CheckExact(text))
        return NULL;
    PyObject *value = PyDict_GetItemWithError(cache, text);
    if (value != NULL)
        return Py_NewRef(value);
    if (PyErr_Occurred() || !plain_value(text, price))
        return NULL;
    if ((value = PyObject_CallOneArg(decimal_type, text)) == NULL)
        return NULL;
    if (PyDict_GET_SIZE(cache) >= CACHE_SIZE)
        PyDict_Clear(cache);
    if (PyDict_SetItem(cache, text, value) < 0) {
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

/* text_levels(pairs, prices, sizes) -> tuple | None: see the module comment. */
static PyObject *
text_levels(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyDict_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "text_levels(pairs: list, prices: dict, sizes: dict)");
        return NULL;
    }
    PyObject *pairs = args[0];
    Py_ssize_t n = PyList_GET_SIZE(pairs);
    PyObject *out = PyTuple_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(pairs, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2)
            goto reference;
        PyObject *price = cached_value(args[1], PyTuple_GET_ITEM(pair, 0), 1);
        if (price == NULL)
            goto reference;
        PyObject *size = cached_value(args[2], PyTuple_GET_ITEM(pair, 1), 0);
        if (size == NULL) {
            Py_DECREF(price);
            goto reference;
        }
        PyObject *level = PyTuple_New(2);
        if (level == NULL) {
            Py_DECREF(price);
            Py_DECREF(size);
            goto fail;
        }
        PyTuple_SET_ITEM(level, 0, price);
        PyTuple_SET_ITEM(level, 1, size);
        PyTuple_SET_ITEM(out, i, level);
    }
    return out;
reference:
    if (PyErr_Occurred())
        goto fail;
    Py_DECREF(out);
    Py_RETURN_NONE;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"update_side", (PyCFunction)(void (*)(void))update_side, METH_FASTCALL,
     "Apply (price, size) changes to one side of an OrderBook (its compiled update loop)."},
    {"text_levels", (PyCFunction)(void (*)(void))text_levels, METH_FASTCALL,
     "(price text, size text) pairs as (Decimal, Decimal) levels from the caches, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "botkit.protocol._cbook", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__cbook(void)
{
    PyObject *decimal = PyImport_ImportModule("decimal");
    if (decimal == NULL)
        return NULL;
    decimal_type = PyObject_GetAttrString(decimal, "Decimal");
    Py_DECREF(decimal);
    if (decimal_type == NULL)
        return NULL;
    return PyModule_Create(&module);
}
