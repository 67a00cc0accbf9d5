/*
 * botkit.protocol._cframes: the WebSocket reader's common case, compiled.
 *
 * A live feed is mostly small, whole text frames of ASCII JSON; this splits a socket
 * read into their payloads in one pass. Anything else (fragments, control frames,
 * compression, non-ASCII text, masked frames) is left to the Python reader in
 * _wsframes.py, which is the reference. Optional: botkit runs the same pure-Python code
 * when this module is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* No byte of ``s`` has its high bit set (ASCII is valid UTF-8). */
static int
is_ascii(const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, s + i, 8);
        if (word & 0x8080808080808080ULL)
            return 0;
    }
    for (; i < n; i++)
        if (s[i] & 0x80)
            return 0;
    return 1;
}

/* split_frames(buf, pos, out) -> pos: the payloads of the unfragmented, unmasked,
 * uncompressed WebSocket text frames of ASCII text (length < 64 KiB) at ``buf[pos:]``,
 * appended to ``out``, up to the first frame that is incomplete or of another kind
 * (FrameReader's fast path; the Python reader takes the rest, and checks UTF-8). */
static PyObject *
split_frames(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_CheckExact(args[0]) || !PyList_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "split_frames(buf: bytes, pos: int, out: list)");
        return NULL;
    }
    PyObject *out = args[2];
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t end = PyBytes_GET_SIZE(args[0]), pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (pos < 0)
        pos = 0;
    while (end - pos >= 2) {
        unsigned char b0 = b[pos], n = b[pos + 1];
        Py_ssize_t start, len;
        if (b0 != 0x81)
            break;
        if (n < 126) {
            start = pos + 2;
            len = n;
        } else if (n == 126 && end - pos >= 4) {
            start = pos + 4;
            len = ((Py_ssize_t)b[pos + 2] << 8) | b[pos + 3];
        } else {
            break;
        }
        if (len > end - start || !is_ascii(b + start, len))
            break;
        PyObject *payload = PyBytes_FromStringAndSize((const char *)b + start, len);
        if (payload == NULL || PyList_Append(out, payload) < 0) {
            Py_XDECREF(payload);
            return NULL;
        }
        Py_DECREF(payload);
        pos = start + len;
    }
    return PyLong_FromSsize_t(pos);
}

static PyMethodDef module_methods[] = {
    {"split_frames", (PyCFunction)(void (*)(void))split_frames, METH_FASTCALL,
     "split_frames(buf, pos, out) -> pos of the first frame not taken"},
    {NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cframes", "The WebSocket reader's common frame, compiled (optional).", -1,
    module_methods,
};

PyMODINIT_FUNC
PyInit__cframes(void)
{
    return PyModule_Create(&module);
}
