/*
 * The C entry points of botkit.protocol.binance._ctrades, for the recording-line scanner
 * (botkit/sources/_clines.c), passed in the capsule ``_ctrades._C_API``.
 */
#ifndef BOTKIT_CTRADES_H
#define BOTKIT_CTRADES_H

#include <Python.h>

#define BOTKIT_TRADES_CAPSULE "botkit.protocol.binance._ctrades._C_API"
#define BOTKIT_TRADES_API_VERSION 1

/* A TradeSequencer's hot-path contract, read once per call: ``last_ids`` (dict: symbol
 * -> id of the last trade delivered) and ``held_symbols`` (set). */
typedef struct {
    PyObject *last_ids;
    PyObject *busy;
} BotkitSequence;

typedef struct {
    int version;
    PyTypeObject *decoder_type; /* TradeDecoder */
    /* 0 with new references in *seq, or -1 with an exception set. */
    int (*sequence_get)(PyObject *sequencer, BotkitSequence *seq);
    void (*sequence_release)(BotkitSequence *seq);
    /* One frame received at ``ts``: 1 consumed (its Trade appended to ``out``), 0 not for
     * this path (the Python path decides), -1 error. */
    int (*run_frame)(PyObject *decoder, const char *frame, Py_ssize_t len, PyObject *ts, PyObject *out,
                     const BotkitSequence *seq);
} BotkitTradesAPI;

#endif
