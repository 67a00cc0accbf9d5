/*
 * botkit.protocol._cbook: an order book side's update loop, compiled.
 *
 * The twin of _book._update_bids/_update_asks (the reference, which the tests compare
 * this with): a side keeps a dict of sort key -> level tuple and the keys in a sorted
 * list, best last; bids are keyed by price, asks by minus the price. Only documented
 * C API: the rich comparisons are the keys' own (Decimal's), so the order is exactly
 * the Python one. Optional: botkit runs the Python loop when this is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* First index of ``keys`` whose item is not less than ``key`` (bisect_left); -1 on error. */
static Py_ssize_t
bisect_left(PyObject *keys, PyObject *key)
{
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(keys);
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        PyObject *item = PyList_GET_ITEM(keys, mid);
        Py_INCREF(item); /* a comparison may run Python code */
        int less = PyObject_RichCompareBool(item, key, Py_LT);
        Py_DECREF(item);
        if (less < 0)
            return -1;
        if (less)
            lo = mid + 1;
        else
            hi = mid;
        if (hi > PyList_GET_SIZE(keys))
            hi = PyList_GET_SIZE(keys);
    }
    return lo;
}

/* One change: ``level`` is ``(price, size, ...)``; size 0 removes the price's level. */
static int
apply_level(PyObject *keys, PyObject *levels, PyObject *level, int negate)
{
    if (!PyTuple_Check(level) || PyTuple_GET_SIZE(level) < 2) {
        PyErr_SetString(PyExc_TypeError, "a book level must be a (price, size) tuple");
        return -1;
    }
    PyObject *key = negate ? PyNumber_Negative(PyTuple_GET_ITEM(level, 0)) : PyTuple_GET_ITEM(level, 0);
    if (key == NULL)
        return -1;
    if (!negate)
        Py_INCREF(key);
    int rc = -1;
    int keep = PyObject_IsTrue(PyTuple_GET_ITEM(level, 1));
    if (keep < 0)
        goto done;
    int present = PyDict_Contains(levels, key);
    if (present < 0)
        goto done;
    if (keep) {
        if (!present) {
            /* bisect_right == bisect_left here: the key is not in the list. */
            Py_ssize_t at = bisect_left(keys, key);
            if (at < 0 || PyList_Insert(keys, at, key) < 0)
                goto done;
        }
        rc = PyDict_SetItem(levels, key, level);
    } else if (present) {
        if (PyDict_DelItem(levels, key) < 0)
            goto done;
        Py_ssize_t at = bisect_left(keys, key);
        if (at < 0)
            goto done;
        rc = at < PyList_GET_SIZE(keys) ? PyList_SetSlice(keys, at, at + 1, NULL) : 0;
    } else {
        rc = 0;
    }
done:
    Py_DECREF(key);
    return rc;
}

/* update_side(keys, levels, changes, negate) -> None: see the module comment. */
static PyObject *
update_side(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "update_side(keys: list, levels: dict, changes: tuple, negate: bool)");
        return NULL;
    }
    int negate = PyObject_IsTrue(args[3]);
    if (negate < 0)
        return NULL;
    PyObject *changes = args[2];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(changes); i++)
        if (apply_level(args[0], args[1], PyTuple_GET_ITEM(changes, i), negate) < 0)
            return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"update_side", (PyCFunction)(void (*)(void))update_side, METH_FASTCALL,
     "Apply (price, size) changes to one side of an OrderBook (its compiled update loop)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "botkit.protocol._cbook", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__cbook(void)
{
    return PyModule_Create(&module);
}
