/*
 * botkit.sources._clines: runs of recording lines (``<ns> <frame>``) through the
 * compiled trade decoder, in place in the read block (no per-line objects).
 *
 * A replay's lines are mostly trade frames whose id is the next one of their symbol:
 * this module scans a block of them, parses the receive time and hands each frame to
 * botkit.protocol.binance._ctrades's per-frame step (through its capsule, _ctrades.h),
 * until a line it is not sure of (a comment, another stream, a gap, a corrupt line),
 * which the Python path of the replay then decodes. Optional, like _ctrades.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <string.h>

#include "../protocol/binance/_ctrades.h"

static const BotkitTradesAPI *api;

/* One recording line (``buf``, ``len``, no newline): ``<ns> <frame>``, as run_frame. */
static int
run_line(PyObject *decoder, const char *buf, Py_ssize_t len, PyObject *out, const BotkitSequence *seq)
{
    Py_ssize_t j = 0;
    long long ts = 0;
    while (j < len && buf[j] >= '0' && buf[j] <= '9') {
        int digit = buf[j] - '0';
        if (ts > (LLONG_MAX - digit) / 10)
            return 0; /* beyond 64 bits: the Python path's int() takes it */
        ts = ts * 10 + digit;
        j++;
    }
    if (j == 0 || j + 1 >= len || buf[j] != ' ')
        return 0; /* comments, corrupt lines: the Python path decides */
    PyObject *ts_obj = PyLong_FromLongLong(ts);
    if (ts_obj == NULL)
        return -1;
    int rc = api->run_frame(decoder, buf + j + 1, len - j - 1, ts_obj, out, seq);
    Py_DECREF(ts_obj);
    return rc;
}

/* run_lines(decoder, block, pos, end, out, limit, sequencer) -> (pos, lines): the
 * recording lines of ``block[pos:end]`` (whole lines), while the decoder takes them. */
static PyObject *
run_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyObject_TypeCheck(args[0], api->decoder_type) || !PyBytes_CheckExact(args[1]) ||
        !PyList_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "run_lines(decoder: TradeDecoder, block: bytes, pos: int, end: int, "
                                         "out: list, limit: int, sequencer)");
        return NULL;
    }
    PyObject *decoder = args[0], *block = args[1], *out = args[4];
    Py_ssize_t pos = PyLong_AsSsize_t(args[2]), size = PyLong_AsSsize_t(args[3]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[5]), lines = 0;
    BotkitSequence seq;
    if (((pos == -1 || size == -1 || limit == -1) && PyErr_Occurred()) || api->sequence_get(args[6], &seq) < 0)
        return NULL;
    Py_INCREF(block); /* ``out``'s growth can run no Python code, but stay safe */
    const char *buf = PyBytes_AS_STRING(block);
    if (size > PyBytes_GET_SIZE(block))
        size = PyBytes_GET_SIZE(block);
    if (pos < 0)
        pos = 0;
    while (pos < size && PyList_GET_SIZE(out) < limit) {
        const char *nl = memchr(buf + pos, '\n', size - pos);
        Py_ssize_t len = (nl != NULL ? nl - buf : size) - pos;
        int rc = run_line(decoder, buf + pos, len, out, &seq);
        if (rc < 0) {
            Py_DECREF(block);
            api->sequence_release(&seq);
            return NULL;
        }
        if (rc == 0)
            break;
        pos += len + 1;
        lines++;
    }
    Py_DECREF(block);
    api->sequence_release(&seq);
    if (pos > size)
        pos = size;
    return Py_BuildValue("(nn)", pos, lines);
}

static PyMethodDef module_methods[] = {
    {"run_lines", (PyCFunction)(void (*)(void))run_lines, METH_FASTCALL,
     "run_lines(decoder, block, pos, end, out, limit, sequencer) -> (pos, lines) after the lines consumed"},
    {NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_clines", "Recording lines through the compiled trade decoder (optional).", -1,
    module_methods,
};

PyMODINIT_FUNC
PyInit__clines(void)
{
    api = (const BotkitTradesAPI *)PyCapsule_Import(BOTKIT_TRADES_CAPSULE, 0);
    if (api == NULL)
        return NULL;
    if (api->version != BOTKIT_TRADES_API_VERSION) {
        PyErr_Format(PyExc_ImportError, "_ctrades API version %d, expected %d", api->version,
                     BOTKIT_TRADES_API_VERSION);
        return NULL;
    }
    return PyModule_Create(&module);
}
