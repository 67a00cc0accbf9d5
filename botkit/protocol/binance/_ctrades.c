/*
 * botkit.protocol.binance._ctrades: Binance trade frames to Trade events, compiled.
 *
 * Why this exists: a backtest spends most of its time turning recorded trade frames
 * into Trade events. msgspec already decodes the JSON in C; what is left is the Python
 * glue around it (the envelope, range checks, building the frozen event, the trade-id
 * check), about as costly as the decode itself. This module does that glue in C and
 * nothing else: the JSON is decoded by the msgspec decoder it is given, or matched
 * against Binance's usual message shape (match_layout), and every frame it is not sure
 * about is handed back to the Python path, which stays the reference (same events, same
 * counters, same errors).
 *
 * TradeDecoder(..., decimals=None)(frame, ts_recv) -> [Trade]     one frame (the parse path);
 *     ``decimals``: a text -> Decimal dict shared with other decoders (else its own)
 * TradeDecoder.run_frames(frames, pos, ts, out, sequencer) -> pos
 *     the frames of one socket read, while they are trades whose id is the next one of
 *     their symbol (TradeSequencer's hot-path contract: last_ids, held_symbols).
 * HotPath(slow): a parser's ``parse`` whose recent streams go straight to their
 *     handlers; everything else to ``slow``, the Python ``parse``.
 * _C_API: a capsule (see _ctrades.h) through which botkit/sources/_clines.c runs the
 *     same per-frame step on recording lines.
 *
 * Optional: botkit runs the same pure-Python code when this module is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#include "../_cslots.h"

#include "_ctrades.h"

/* Trade's fields, in constructor order. */
enum { F_VENUE, F_SYMBOL, F_PRICE, F_SIZE, F_SIDE, F_ID, F_TS_EXCHANGE, F_TS_RECV, F_VENUE_SYMBOL, N_EVENT };
static const char *const EVENT_FIELDS[N_EVENT] = {
    "venue", "symbol", "price", "size", "side", "trade_id", "ts_exchange", "ts_recv", "venue_symbol",
};
/* Message fields the caller names, in this order. */
enum { M_SYMBOL, M_ID, M_PRICE, M_SIZE, M_TIME, M_MAKER, N_MESSAGE };
/* The codes of a layout (see match_layout). */
enum { L_UINT = 1, L_SYMBOL, L_ID, L_PRICE, L_SIZE, L_TIME, L_MAKER, L_BOOL, L_CODES };

static PyObject *decimal_type, *decimal_zero, *decimal_is_finite; /* Decimal, Decimal(0), Decimal.is_finite */
/* Prices and sizes already built, by their text: a feed repeats them (price levels, lot
 * sizes), and reusing a checked Decimal skips building and checking it again (Decimals
 * are immutable, so sharing one is safe). Cleared when it reaches this size. */
#define DECIMAL_CACHE_SIZE 32768 /* about 6 MB at most */
/* Where texts rarely repeat the cache costs more than it saves (a lookup, an insert):
 * when fewer than 1 in 4 of a window's lookups hit, the next texts skip it. */
#define DECIMAL_WINDOW 4096
#define DECIMAL_BYPASS 65536
static const char DATA_KEY[] = "\",\"data\":";     /* what follows the stream name */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *decode;            /* msgspec Decoder.decode of the envelope (or the message) */
    PyObject *decode_message;    /* ... of the message alone: the envelope's inner object */
    PyTypeObject *envelope;      /* decoded type; NULL when the message is decoded bare */
    Py_ssize_t envelope_off;     /* slot of the message in the envelope */
    PyTypeObject *message;
    Py_ssize_t message_off[N_MESSAGE];
    PyTypeObject *text;          /* the message with price and size as text (decode_message's type) */
    Py_ssize_t text_off[N_MESSAGE];
    PyObject *decimals;          /* text -> Decimal, valid as a price and as a size */
    Py_ssize_t lookups, hits;    /* in the current window */
    Py_ssize_t bypass;           /* texts left to build without the cache */
    PyObject *layout;            /* bytes: the message's usual shape (see match_layout), or NULL */
    PyObject *last_symbol;       /* the venue symbol str of the last matched message */
    PyTypeObject *event;
    Py_ssize_t event_off[N_EVENT];
    PyObject *venue, *names, *buy, *sell, *check, *scale_obj;
    PyObject *min_price, *max_value; /* Decimals: a price in [min_price, max_value], a size in [0, max_value] */
    long long scale;
    PyObject *stream_prefix, *stream_suffix; /* bytes: a line's frame must match both */
} TradeDecoder;

static int
td_init(TradeDecoder *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"decode", "decode_message", "envelope", "unwrap", "message", "fields", "event",
                             "venue", "names", "buy", "sell", "check", "time_scale", "stream_prefix",
                             "stream_suffix", "text_message", "layout", "bounds", "decimals", NULL};
    PyObject *decode, *decode_message, *envelope, *unwrap, *message, *fields, *event, *venue, *names, *buy, *sell;
    PyObject *check, *scale_obj, *prefix, *suffix, *text, *layout = Py_None, *bounds = NULL, *decimals = NULL;
    if (self->decode != NULL) {
        PyErr_SetString(PyExc_TypeError, "TradeDecoder is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOO!O!O!UO!OOOO!O!O!O!|OO!O!:TradeDecoder", kwlist, &decode,
                                     &decode_message, &envelope, &unwrap, &PyType_Type, &message, &PyTuple_Type,
                                     &fields, &PyType_Type, &event, &venue, &PyDict_Type, &names, &buy, &sell, &check,
                                     &PyLong_Type, &scale_obj, &PyBytes_Type, &prefix, &PyBytes_Type, &suffix,
                                     &PyType_Type, &text, &layout, &PyTuple_Type, &bounds, &PyDict_Type, &decimals))
        return -1;
    if (bounds == NULL || PyTuple_GET_SIZE(bounds) != 2) {
        PyErr_SetString(PyExc_TypeError, "bounds: (minimum price, maximum price and size) Decimals");
        return -1;
    }
    Py_XSETREF(self->min_price, Py_NewRef(PyTuple_GET_ITEM(bounds, 0)));
    Py_XSETREF(self->max_value, Py_NewRef(PyTuple_GET_ITEM(bounds, 1)));
    if (PyTuple_GET_SIZE(fields) != N_MESSAGE) {
        PyErr_SetString(PyExc_TypeError, "fields: (symbol, id, price, size, time, buyer_is_maker) names");
        return -1;
    }
    if (envelope == Py_None) {
        self->envelope = NULL;
        self->envelope_off = -1;
    } else {
        if (!PyType_Check(envelope) || !PyUnicode_Check(unwrap)) {
            PyErr_SetString(PyExc_TypeError, "envelope must be a type and unwrap its field name");
            return -1;
        }
        self->envelope = (PyTypeObject *)Py_NewRef(envelope);
        self->envelope_off = slot_offset(self->envelope, PyUnicode_AsUTF8(unwrap));
        if (self->envelope_off < 0)
            return -1;
    }
    Py_XSETREF(self->message, (PyTypeObject *)Py_NewRef(message)); /* XSETREF: after a failed init */
    Py_XSETREF(self->text, (PyTypeObject *)Py_NewRef(text));
    for (int i = 0; i < N_MESSAGE; i++) {
        PyObject *name = PyTuple_GET_ITEM(fields, i);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "fields must be str");
            return -1;
        }
        if ((self->message_off[i] = slot_offset(self->message, PyUnicode_AsUTF8(name))) < 0 ||
            (self->text_off[i] = slot_offset(self->text, PyUnicode_AsUTF8(name))) < 0)
            return -1;
    }
    /* A dict given is shared with the venue's other decoders (one working set in the CPU's
     * caches when feeds of one venue decode in turn); else one of its own. */
    Py_XSETREF(self->decimals, decimals != NULL ? Py_NewRef(decimals) : PyDict_New());
    if (self->decimals == NULL)
        return -1;
    if (layout != Py_None && !PyBytes_Check(layout)) {
        PyErr_SetString(PyExc_TypeError, "layout must be bytes or None");
        return -1;
    }
    if (layout != Py_None) {
        /* Every value the event needs, once: a match must set all of Fields. */
        int seen[L_CODES] = {0};
        for (Py_ssize_t i = 0; i < PyBytes_GET_SIZE(layout); i++) {
            unsigned char c = (unsigned char)PyBytes_AS_STRING(layout)[i];
            if (c < L_CODES)
                seen[c]++;
        }
        for (int c = L_SYMBOL; c <= L_MAKER; c++)
            if (c != L_UINT && seen[c] != 1) {
                PyErr_SetString(PyExc_ValueError, "layout needs symbol, id, price, size, time and maker once each");
                return -1;
            }
        if (seen[0]) {
            PyErr_SetString(PyExc_ValueError, "layout has a NUL byte");
            return -1;
        }
    }
    Py_XSETREF(self->layout, layout == Py_None ? NULL : Py_NewRef(layout));
    self->event = (PyTypeObject *)Py_NewRef(event);
    for (int i = 0; i < N_EVENT; i++)
        if ((self->event_off[i] = slot_offset(self->event, EVENT_FIELDS[i])) < 0)
            return -1;
    if (self->event->tp_basicsize != (Py_ssize_t)(sizeof(PyObject) + N_EVENT * sizeof(PyObject *))) {
        /* Every slot must be filled here: a field added to the event needs this file too. */
        PyErr_Format(PyExc_TypeError, "%s has slots this module does not fill", self->event->tp_name);
        return -1;
    }
    int overflow = 0;
    self->scale = PyLong_AsLongLongAndOverflow(scale_obj, &overflow);
    if (overflow || self->scale <= 0) {
        PyErr_SetString(PyExc_ValueError, "time_scale must be a positive 64-bit integer");
        return -1;
    }
    self->decode = Py_NewRef(decode);
    self->decode_message = Py_NewRef(decode_message);
    self->venue = Py_NewRef(venue);
    self->names = Py_NewRef(names);
    self->buy = Py_NewRef(buy);
    self->sell = Py_NewRef(sell);
    self->check = Py_NewRef(check);
    self->scale_obj = Py_NewRef(scale_obj);
    self->stream_prefix = Py_NewRef(prefix);
    self->stream_suffix = Py_NewRef(suffix);
    return 0;
}

/* The message inside a decoded envelope (borrowed), or NULL if it has an unexpected shape. */
static PyObject *
unwrap_message(TradeDecoder *self, PyObject *decoded)
{
    PyObject *msg = decoded;
    if (Py_TYPE(decoded) != self->message) {
        if (self->envelope == NULL || Py_TYPE(decoded) != self->envelope)
            return NULL;
        msg = SLOT(decoded, self->envelope_off);
    }
    if (msg == NULL || Py_TYPE(msg) != self->message)
        return NULL;
    for (int i = 0; i < N_MESSAGE; i++)
        if (SLOT(msg, self->message_off[i]) == NULL)
            return NULL;
    return msg;
}

/* 1: finite, price > 0, size >= 0; 0: out of range; -1: error set. */
/* A text message (decode_message's type) with every field set, or NULL. */
static PyObject *
text_message(TradeDecoder *self, PyObject *decoded)
{
    if (Py_TYPE(decoded) != self->text)
        return NULL;
    for (int i = 0; i < N_MESSAGE; i++)
        if (SLOT(decoded, self->text_off[i]) == NULL)
            return NULL;
    return decoded;
}

static int values_ok(TradeDecoder *self, PyObject *price, PyObject *size);
#define PLAIN_MAX_CHARS 14
static int fall_back(void);

/* 1 when ``text`` is plain digits with at most one '.' and some nonzero digit, 14
 * characters at most: its Decimal is then finite, positive and within the parsers' bounds
 * (at least 0.000000000001, below 10**15), no need to ask it (which costs more than the
 * scan). */
static int
plain_positive(PyObject *text)
{
    if (!PyUnicode_IS_COMPACT_ASCII(text))
        return 0;
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > PLAIN_MAX_CHARS)
        return 0;
    int dot = 0, nonzero = 0, digits = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= '0' && c <= '9') {
            digits = 1;
            nonzero |= c != '0';
        } else if (c == '.' && !dot) {
            dot = 1;
        } else {
            return 0;
        }
    }
    return digits && nonzero;
}

/* The Decimal of a price or size text (new reference), from the cache or built, checked
 * (finite and positive: good as either) and cached. NULL when it is anything else (a zero
 * size, a value out of range, text Decimal refuses: the reference path decides), with no
 * error set unless it is one the caller must not swallow (see fall_back). ``plain``: the
 * caller already knows the text is plain and positive. */
static PyObject *
text_decimal(TradeDecoder *self, PyObject *text, int plain)
{
    if (!PyUnicode_CheckExact(text))
        return NULL;
    PyObject *value = NULL;
    int cached = self->bypass == 0;
    if (cached) {
        value = Py_XNewRef(PyDict_GetItemWithError(self->decimals, text)); /* owned: the dict may be cleared */
        if (value != NULL)
            self->hits++;
        if (++self->lookups == DECIMAL_WINDOW) {
            if (self->hits < DECIMAL_WINDOW / 4) {
                self->bypass = DECIMAL_BYPASS;
                PyDict_Clear(self->decimals);
                cached = 0;
            }
            self->lookups = self->hits = 0;
        }
        if (value != NULL)
            return value;
    } else {
        self->bypass--;
    }
    if (PyErr_Occurred() || (value = PyObject_CallOneArg(decimal_type, text)) == NULL) {
        fall_back();
        return NULL;
    }
    /* values_ok(v, v): in range as a price, and so as a size. */
    int ok = plain || plain_positive(text) ? 1 : values_ok(self, value, value);
    if (ok == 1) {
        if (!cached)
            return value;
        if (PyDict_GET_SIZE(self->decimals) >= DECIMAL_CACHE_SIZE)
            PyDict_Clear(self->decimals);
        if (PyDict_SetItem(self->decimals, text, value) < 0) {
            Py_DECREF(value);
            return NULL;
        }
        return value;
    }
    if (ok < 0)
        fall_back();
    Py_DECREF(value);
    return NULL;
}

static int
values_ok(TradeDecoder *self, PyObject *price, PyObject *size)
{
    PyObject *r = PyObject_CallOneArg(decimal_is_finite, price);
    if (r == NULL)
        return -1;
    int ok = r == Py_True;
    Py_DECREF(r);
    if (!ok)
        return 0;
    r = PyObject_CallOneArg(decimal_is_finite, size);
    if (r == NULL)
        return -1;
    ok = r == Py_True;
    Py_DECREF(r);
    if (!ok)
        return 0;
    if ((ok = PyObject_RichCompareBool(price, self->min_price, Py_GE)) != 1 ||
        (ok = PyObject_RichCompareBool(price, self->max_value, Py_LE)) != 1 ||
        (ok = PyObject_RichCompareBool(size, decimal_zero, Py_GE)) != 1)
        return ok;
    return PyObject_RichCompareBool(size, self->max_value, Py_LE);
}

/* time * scale as a new int. */
static PyObject *
scaled(TradeDecoder *self, PyObject *time)
{
    int overflow = 0;
    long long t = PyLong_AsLongLongAndOverflow(time, &overflow);
    if (t == -1 && PyErr_Occurred())
        return NULL;
    if (!overflow && t <= LLONG_MAX / self->scale && t >= LLONG_MIN / self->scale)
        return PyLong_FromLongLong(t * self->scale);
    return PyNumber_Multiply(time, self->scale_obj);
}

/* A new Trade from ``msg`` (already checked); ``name`` is the normalised symbol. Steals
 * the reference to ``ts_recv``. Filling the slots directly is what attrs' frozen
 * __init__ does through object.__setattr__, minus the per-field calls. */
/* A Trade from its values (borrowed; ``ts_exchange`` and ``ts_recv`` are stolen). */
static PyObject *
new_trade(TradeDecoder *self, PyObject *name, PyObject *vsym, PyObject *price, PyObject *size, int maker,
          PyObject *tid, PyObject *ts_exchange, PyObject *ts_recv)
{
    PyObject *obj = self->event->tp_alloc(self->event, 0);
    if (obj == NULL) {
        Py_DECREF(ts_recv);
        Py_DECREF(ts_exchange);
        return NULL;
    }
    SLOT(obj, self->event_off[F_VENUE]) = Py_NewRef(self->venue);
    SLOT(obj, self->event_off[F_SYMBOL]) = Py_NewRef(name);
    SLOT(obj, self->event_off[F_PRICE]) = Py_NewRef(price);
    SLOT(obj, self->event_off[F_SIZE]) = Py_NewRef(size);
    /* The buyer is the maker, so the aggressor sold. */
    SLOT(obj, self->event_off[F_SIDE]) = Py_NewRef(maker ? self->sell : self->buy);
    SLOT(obj, self->event_off[F_ID]) = Py_NewRef(tid);
    SLOT(obj, self->event_off[F_TS_EXCHANGE]) = ts_exchange;
    SLOT(obj, self->event_off[F_TS_RECV]) = ts_recv;
    SLOT(obj, self->event_off[F_VENUE_SYMBOL]) = Py_NewRef(vsym);
    /* An event holds only strings, numbers and an enum member: it can be in no reference
     * cycle, so the collector need not track it (CPython does the same for tuples of
     * atomic values). A replay keeps thousands in flight; tracking them costs GC passes. */
    if (PyObject_IS_GC(obj))
        PyObject_GC_UnTrack(obj);
    return obj;
}

/* The Trade of message ``msg`` (fields at ``off``) with ``price`` and ``size`` (borrowed);
 * steals ``ts_recv``. */
static PyObject *
make_trade(TradeDecoder *self, PyObject *msg, const Py_ssize_t *off, PyObject *name, PyObject *price,
           PyObject *size, PyObject *ts_recv)
{
    PyObject *ts_exchange = scaled(self, SLOT(msg, off[M_TIME]));
    if (ts_exchange == NULL) {
        Py_DECREF(ts_recv);
        return NULL;
    }
    return new_trade(self, name, SLOT(msg, off[M_SYMBOL]), price, size, SLOT(msg, off[M_MAKER]) == Py_True,
                     SLOT(msg, off[M_ID]), ts_exchange, ts_recv);
}

/* Offset of the inner object when ``frame`` is exactly {"stream":"<name>","data":<object>}
 * with a plain name (printable ASCII, no escapes), else -1; ``*name_end`` gets the offset
 * of the name's closing quote. Decoding the inner object alone skips the envelope's
 * struct; anything else takes the envelope decoder, which says what is wrong. */
static Py_ssize_t
inner_offset(TradeDecoder *self, const char *frame, Py_ssize_t flen, Py_ssize_t *name_end)
{
    Py_ssize_t plen = PyBytes_GET_SIZE(self->stream_prefix), klen = sizeof(DATA_KEY) - 1, i = plen;
    if (flen <= plen || memcmp(frame, PyBytes_AS_STRING(self->stream_prefix), plen) != 0)
        return -1;
    for (; i < flen && frame[i] != '"'; i++) {
        unsigned char c = (unsigned char)frame[i];
        if (c < 0x20 || c > 0x7e || c == '\\')
            return -1;
    }
    if (i + klen >= flen - 1 || memcmp(frame + i, DATA_KEY, klen) != 0 || frame[flen - 1] != '}')
        return -1;
    *name_end = i;
    return i + klen;
}

/* The message of a frame (new reference to what the decoder returned), or NULL. */
static PyObject *
decode_inner(TradeDecoder *self, const char *frame, Py_ssize_t at, Py_ssize_t flen)
{
    PyObject *inner = PyBytes_FromStringAndSize(frame + at, flen - 1 - at);
    if (inner == NULL)
        return NULL;
    PyObject *decoded = PyObject_CallOneArg(self->decode_message, inner);
    Py_DECREF(inner);
    return decoded;
}

/* The text message of the inner object at frame[at:] and its price and size Decimals:
 * 1 with *decoded, *price and *size new references (the message is a slot of *decoded's,
 * or *decoded itself: *msg, borrowed); 0 when this path is not sure; -1 on an error. */
static int
decode_text(TradeDecoder *self, const char *frame, Py_ssize_t at, Py_ssize_t flen, PyObject **decoded,
            PyObject **msg, PyObject **price, PyObject **size)
{
    *decoded = decode_inner(self, frame, at, flen);
    if (*decoded == NULL)
        return fall_back();
    *msg = text_message(self, *decoded);
    *price = *msg != NULL ? text_decimal(self, SLOT(*msg, self->text_off[M_PRICE]), 0) : NULL;
    *size = *price != NULL ? text_decimal(self, SLOT(*msg, self->text_off[M_SIZE]), 0) : NULL;
    if (*size != NULL)
        return 1;
    Py_CLEAR(*price);
    Py_CLEAR(*decoded);
    return PyErr_Occurred() ? -1 : 0;
}

/* Clears an ordinary exception (the Python path will meet it again and report it);
 * returns -1 for anything else (MemoryError, KeyboardInterrupt), which must propagate. */
static int
fall_back(void)
{
    if (PyErr_Occurred() && !(PyErr_ExceptionMatches(PyExc_Exception) && !PyErr_ExceptionMatches(PyExc_MemoryError)))
        return -1;
    PyErr_Clear();
    return 0;
}

/* __call__(frame, ts_recv) -> [Trade]: exactly the Python trade handler's contract
 * (decode errors propagate, out-of-range values go through ``check``, which raises). */
/* The usual shape of a message, matched without a JSON decoder: ``layout`` is the
 * message's exact text with its values replaced by one-byte codes (below); anything
 * else (another key order, whitespace, escapes, exponents, a sign, a zero, an int beyond
 * 18 digits) does not match, and the message goes to msgspec as before. A match gives
 * exactly what msgspec would: the values are plain ASCII digits and letters. */
#define MAX_DIGITS 18  /* < 2**63 whatever they are */
#define MAX_TEXT 40

typedef struct {
    const char *symbol, *price, *size;
    Py_ssize_t symbol_len, price_len, size_len;
    long long id, time;
    int maker;
} Fields;

/* The unsigned JSON integer at s[j:] (no sign, no leading zero): its end, or -1. */
static Py_ssize_t
match_uint(const char *s, Py_ssize_t j, Py_ssize_t n, long long *value)
{
    Py_ssize_t start = j;
    long long v = 0;
    while (j < n && s[j] >= '0' && s[j] <= '9' && j - start < MAX_DIGITS)
        v = v * 10 + (s[j++] - '0');
    if (j == start || (s[start] == '0' && j - start > 1) || (j < n && s[j] >= '0' && s[j] <= '9'))
        return -1;
    *value = v;
    return j;
}

/* The JSON string at s[j:] holding a symbol ([A-Z0-9]) or a positive plain decimal
 * (digits, at most one '.', some nonzero digit): its end, or -1. */
static Py_ssize_t
match_text(const char *s, Py_ssize_t j, Py_ssize_t n, int decimal, const char **text, Py_ssize_t *len)
{
    if (j >= n || s[j] != '"')
        return -1;
    Py_ssize_t start = ++j;
    int dot = 0, nonzero = 0;
    for (; j < n && s[j] != '"'; j++) {
        char c = s[j];
        if (c >= '0' && c <= '9')
            nonzero |= c != '0';
        else if (decimal && c == '.' && !dot)
            dot = 1;
        else if (decimal || c < 'A' || c > 'Z')
            return -1;
    }
    if (j >= n || j == start || j - start > MAX_TEXT || (decimal && !nonzero))
        return -1;
    *text = s + start;
    *len = j - start;
    return j + 1;
}

static int
match_layout(PyObject *layout, const char *s, Py_ssize_t n, Fields *f)
{
    const unsigned char *t = (const unsigned char *)PyBytes_AS_STRING(layout);
    Py_ssize_t tlen = PyBytes_GET_SIZE(layout), j = 0;
    long long skipped;
    for (Py_ssize_t i = 0; i < tlen; i++) {
        unsigned char c = t[i];
        if (c >= L_CODES) {
            if (j >= n || (unsigned char)s[j] != c)
                return 0;
            j++;
            continue;
        }
        switch (c) {
        case L_UINT:
            j = match_uint(s, j, n, &skipped);
            break;
        case L_ID:
            j = match_uint(s, j, n, &f->id);
            break;
        case L_TIME:
            j = match_uint(s, j, n, &f->time);
            break;
        case L_SYMBOL:
            j = match_text(s, j, n, 0, &f->symbol, &f->symbol_len);
            break;
        case L_PRICE:
            j = match_text(s, j, n, 1, &f->price, &f->price_len);
            break;
        case L_SIZE:
            j = match_text(s, j, n, 1, &f->size, &f->size_len);
            break;
        default: /* L_MAKER, L_BOOL */
            if (n - j >= 4 && memcmp(s + j, "true", 4) == 0) {
                f->maker = c == L_MAKER ? 1 : f->maker;
                j += 4;
            } else if (n - j >= 5 && memcmp(s + j, "false", 5) == 0) {
                f->maker = c == L_MAKER ? 0 : f->maker;
                j += 5;
            } else {
                j = -1;
            }
        }
        if (j < 0)
            return 0;
    }
    return j == n;
}

/* An ASCII str of s[:len] (new reference). */
static PyObject *
ascii_str(const char *s, Py_ssize_t len)
{
    PyObject *str = PyUnicode_New(len, 127);
    if (str != NULL)
        memcpy(PyUnicode_1BYTE_DATA(str), s, len);
    return str;
}

/* The venue symbol's str (new reference): the last one when it is the same, as it
 * nearly always is (its hash is then computed already). */
static PyObject *
symbol_str(TradeDecoder *self, const Fields *f)
{
    PyObject *last = self->last_symbol;
    if (last != NULL && PyUnicode_GET_LENGTH(last) == f->symbol_len &&
        memcmp(PyUnicode_1BYTE_DATA(last), f->symbol, f->symbol_len) == 0)
        return Py_NewRef(last);
    PyObject *str = ascii_str(f->symbol, f->symbol_len);
    if (str != NULL)
        Py_XSETREF(self->last_symbol, Py_NewRef(str));
    return str;
}

/* The Decimal of a matched price or size text (new reference), or NULL (see text_decimal). */
static PyObject *
fields_decimal(TradeDecoder *self, const char *text, Py_ssize_t len)
{
    PyObject *str = ascii_str(text, len);
    if (str == NULL)
        return NULL;
    PyObject *value = text_decimal(self, str, 0); /* plain and positive (match_text), its length unknown */
    Py_DECREF(str);
    return value;
}

/* A matched message's venue symbol, name (new references; NULL: error set, or a name
 * to leave to the Python path when ``lookup`` is false), price and size (NULL: not
 * sure). Returns 1, 0 (the caller takes another path), -1 (error). */
static int
fields_values(TradeDecoder *self, const Fields *f, int lookup, PyObject **vsym, PyObject **name,
              PyObject **price, PyObject **size)
{
    *name = *price = *size = NULL;
    if ((*vsym = symbol_str(self, f)) == NULL)
        return -1;
    *name = Py_XNewRef(PyDict_GetItemWithError(self->names, *vsym));
    if (*name == NULL && !PyErr_Occurred() && lookup)
        *name = PyObject_GetItem(self->names, *vsym); /* __missing__ */
    if (*name != NULL && (*price = fields_decimal(self, f->price, f->price_len)) != NULL &&
        (*size = fields_decimal(self, f->size, f->size_len)) != NULL)
        return 1;
    Py_CLEAR(*vsym);
    Py_CLEAR(*name);
    Py_CLEAR(*price);
    return PyErr_Occurred() ? fall_back() : 0;
}

/* ts_exchange of a matched message (new reference), or NULL with no error beyond 64 bits. */
static PyObject *
fields_time(TradeDecoder *self, const Fields *f)
{
    if (f->time > LLONG_MAX / self->scale)
        return NULL;
    return PyLong_FromLongLong(f->time * self->scale);
}

/* The Trade of matched fields (new reference; the values borrowed); NULL with an error
 * set, or without one when its time does not fit 64 bits (another path decides). */
static PyObject *
fields_trade(TradeDecoder *self, const Fields *f, PyObject *tid, PyObject *name, PyObject *vsym, PyObject *price,
             PyObject *size, PyObject *ts_recv)
{
    PyObject *ts_exchange = fields_time(self, f);
    if (ts_exchange == NULL)
        return NULL;
    return new_trade(self, name, vsym, price, size, f->maker, tid, ts_exchange, Py_NewRef(ts_recv));
}

/* One frame through the matched shape (the live/parse path): 1 with *result set, 0 not
 * sure (the frame takes another path), -1 error. */
static int
fields_frame(TradeDecoder *self, const char *inner, Py_ssize_t len, PyObject *ts_recv, PyObject **result)
{
    Fields f;
    if (!match_layout(self->layout, inner, len, &f))
        return 0;
    PyObject *vsym, *name, *price, *size, *tid = NULL, *trade = NULL;
    int rc = fields_values(self, &f, 1, &vsym, &name, &price, &size);
    if (rc <= 0)
        return rc;
    if ((tid = PyLong_FromLongLong(f.id)) != NULL)
        trade = fields_trade(self, &f, tid, name, vsym, price, size, ts_recv);
    if (trade != NULL && (*result = PyList_New(1)) != NULL)
        PyList_SET_ITEM(*result, 0, trade);
    else
        Py_XDECREF(trade);
    rc = trade != NULL && *result != NULL ? 1 : (PyErr_Occurred() ? -1 : 0);
    Py_XDECREF(tid);
    Py_DECREF(vsym);
    Py_DECREF(name);
    Py_DECREF(price);
    Py_DECREF(size);
    return rc;
}

static PyObject *
td_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    TradeDecoder *self = (TradeDecoder *)op;
    if (PyVectorcall_NARGS(nargsf) != 2 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "TradeDecoder(frame, ts_recv) takes two positional arguments");
        return NULL;
    }
    PyObject *frame = args[0], *decoded = NULL, *msg = NULL, *price = NULL, *size = NULL, *name = NULL;
    PyObject *result = NULL;
    const Py_ssize_t *off = self->text_off;
    if (PyBytes_CheckExact(frame)) {
        Py_ssize_t name_end, flen = PyBytes_GET_SIZE(frame);
        Py_ssize_t at = inner_offset(self, PyBytes_AS_STRING(frame), flen, &name_end);
        if (at >= 0 && self->layout != NULL) {
            int rc = fields_frame(self, PyBytes_AS_STRING(frame) + at, flen - 1 - at, args[1], &result);
            if (rc != 0)
                return rc > 0 ? result : NULL;
        }
        if (at >= 0 && decode_text(self, PyBytes_AS_STRING(frame), at, flen, &decoded, &msg, &price, &size) < 0)
            return NULL;
    }
    if (decoded == NULL) {
        /* The reference path: the envelope decoded with Decimal fields, checked by check(),
         * whose errors (ParseError) are the Python parser's. */
        if ((decoded = PyObject_CallOneArg(self->decode, frame)) == NULL)
            return NULL;
        off = self->message_off;
        if ((msg = unwrap_message(self, decoded)) == NULL) {
            PyErr_SetString(PyExc_TypeError, "decoder returned an unexpected type");
            goto done;
        }
        price = Py_NewRef(SLOT(msg, off[M_PRICE]));
        size = Py_NewRef(SLOT(msg, off[M_SIZE]));
        int ok = values_ok(self, price, size);
        if (ok < 0)
            goto done;
        if (ok == 0) {
            PyObject *r = PyObject_CallFunctionObjArgs(self->check, price, size, NULL); /* raises ParseError */
            if (r == NULL)
                goto done;
            Py_DECREF(r);
        }
    }
    PyObject *vsym = SLOT(msg, off[M_SYMBOL]);
    name = PyDict_GetItemWithError(self->names, vsym);
    if (name != NULL)
        Py_INCREF(name);
    else if (PyErr_Occurred() || (name = PyObject_GetItem(self->names, vsym)) == NULL) /* __missing__ */
        goto done;
    PyObject *trade = make_trade(self, msg, off, name, price, size, Py_NewRef(args[1]));
    if (trade == NULL)
        goto done;
    result = PyList_New(1);
    if (result == NULL) {
        Py_DECREF(trade);
        goto done;
    }
    PyList_SET_ITEM(result, 0, trade);
done:
    Py_XDECREF(name);
    Py_XDECREF(price);
    Py_XDECREF(size);
    Py_DECREF(decoded);
    return result;
}

/* The trade sequencer's documented contract with the hot path (TradeSequencer's
 * docstring): ``last_ids`` (symbol -> last delivered id) and ``held_symbols`` (symbols
 * the sequencer decides itself), read from the sequencer once per call. */

static int
sequence_get(PyObject *sequencer, BotkitSequence *seq)
{
    seq->last_ids = PyObject_GetAttrString(sequencer, "last_ids");
    seq->busy = seq->last_ids == NULL ? NULL : PyObject_GetAttrString(sequencer, "held_symbols");
    if (seq->busy != NULL && PyDict_CheckExact(seq->last_ids) && PyAnySet_Check(seq->busy))
        return 0;
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "sequencer.last_ids must be a dict and sequencer.held_symbols a set");
    Py_CLEAR(seq->last_ids);
    Py_CLEAR(seq->busy);
    return -1;
}

static void
sequence_release(BotkitSequence *seq)
{
    Py_CLEAR(seq->last_ids);
    Py_CLEAR(seq->busy);
}

/* Sequencing fast path (TradeSequencer.on_trades): 1 when ``tid`` is the next id of
 * ``name``, a symbol seen before and not being backfilled (and records it), 0 when the
 * sequencer must decide, -1 on error. */
static int
next_id(const BotkitSequence *seq, PyObject *name, PyObject *tid)
{
    int busy = PySet_GET_SIZE(seq->busy) ? PySet_Contains(seq->busy, name) : 0; /* mostly empty */
    if (busy != 0)
        return busy < 0 ? fall_back() : 0;
    PyObject *last = PyDict_GetItemWithError(seq->last_ids, name);
    if (last == NULL)
        return fall_back(); /* a symbol's first trade: the Python path sets it up */
    if (!PyLong_CheckExact(last) || !PyLong_CheckExact(tid))
        return 0;
    int o1 = 0, o2 = 0;
    long long l = PyLong_AsLongLongAndOverflow(last, &o1), t = PyLong_AsLongLongAndOverflow(tid, &o2);
    if (o1 || o2 || l == LLONG_MAX || t != l + 1)
        return 0;
    return PyDict_SetItem(seq->last_ids, name, tid) < 0 ? -1 : 1;
}

/* run_frame for a message of the matched shape. */
static int
run_fields(TradeDecoder *self, const Fields *f, PyObject *ts, PyObject *out, const BotkitSequence *seq)
{
    PyObject *vsym, *name, *price, *size, *tid = NULL;
    int rc = fields_values(self, f, 0, &vsym, &name, &price, &size);
    if (rc <= 0)
        return rc;
    if (f->time > LLONG_MAX / self->scale) {
        rc = 0; /* a huge time: the Python path reports it */
        goto done;
    }
    if ((tid = PyLong_FromLongLong(f->id)) == NULL) {
        rc = -1;
        goto done;
    }
    rc = next_id(seq, name, tid);
    if (rc == 1) {
        PyObject *trade = fields_trade(self, f, tid, name, vsym, price, size, ts);
        if (trade == NULL || PyList_Append(out, trade) < 0)
            rc = -1;
        Py_XDECREF(trade);
    }
done:
    Py_XDECREF(tid);
    Py_DECREF(vsym);
    Py_DECREF(name);
    Py_DECREF(price);
    Py_DECREF(size);
    return rc;
}

/* One combined-stream frame received at ``ts``: 1 consumed (a Trade appended to out),
 * 0 not for this path, -1 error. */
static int
run_frame(TradeDecoder *self, const char *frame, Py_ssize_t flen, PyObject *ts, PyObject *out,
          const BotkitSequence *seq)
{
    Py_ssize_t name_end;
    Py_ssize_t at = inner_offset(self, frame, flen, &name_end);
    const char *suffix = PyBytes_AS_STRING(self->stream_suffix);
    Py_ssize_t slen = PyBytes_GET_SIZE(self->stream_suffix);
    if (at < 0 || name_end - PyBytes_GET_SIZE(self->stream_prefix) < slen ||
        memcmp(frame + name_end - slen, suffix, slen) != 0)
        return 0;
    Fields f;
    if (self->layout != NULL && match_layout(self->layout, frame + at, flen - 1 - at, &f))
        return run_fields(self, &f, ts, out, seq);
    PyObject *decoded, *msg, *price, *size;
    int rc = decode_text(self, frame, at, flen, &decoded, &msg, &price, &size);
    if (rc <= 0)
        return rc;
    PyObject *name = PyDict_GetItemWithError(self->names, SLOT(msg, self->text_off[M_SYMBOL]));
    if (name == NULL) {
        rc = fall_back(); /* a symbol's first trade: the Python path sets it up */
        goto done;
    }
    Py_INCREF(name);
    rc = next_id(seq, name, SLOT(msg, self->text_off[M_ID]));
    if (rc == 1) {
        PyObject *trade = make_trade(self, msg, self->text_off, name, price, size, Py_NewRef(ts)); /* steals */
        if (trade == NULL || PyList_Append(out, trade) < 0)
            rc = -1;
        Py_XDECREF(trade);
    }
    Py_DECREF(name);
done:
    Py_DECREF(price);
    Py_DECREF(size);
    Py_DECREF(decoded);
    return rc;
}

/* run_frames(frames, pos, ts, out, sequencer) -> pos: the frames of ``frames[pos:]``
 * (bytes, all received at ``ts``), while this path takes them. */
static PyObject *
td_run_frames(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    TradeDecoder *self = (TradeDecoder *)op;
    if (nargs != 5 || !PyList_CheckExact(args[0]) || !PyLong_CheckExact(args[2]) || !PyList_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "run_frames(frames: list, pos: int, ts: int, out: list, sequencer)");
        return NULL;
    }
    PyObject *frames = args[0], *ts = args[2], *out = args[3];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    BotkitSequence seq;
    if ((pos == -1 && PyErr_Occurred()) || sequence_get(args[4], &seq) < 0)
        return NULL;
    if (pos < 0)
        pos = 0;
    /* The list is re-read on every step: nothing here runs Python code that could change
     * it, but its length is never trusted across calls. */
    while (pos < PyList_GET_SIZE(frames)) {
        PyObject *frame = PyList_GET_ITEM(frames, pos);
        if (!PyBytes_CheckExact(frame))
            break;
        Py_INCREF(frame);
        int rc = run_frame(self, PyBytes_AS_STRING(frame), PyBytes_GET_SIZE(frame), ts, out, &seq);
        Py_DECREF(frame);
        if (rc < 0) {
            sequence_release(&seq);
            return NULL;
        }
        if (rc == 0)
            break;
        pos++;
    }
    sequence_release(&seq);
    return PyLong_FromSsize_t(pos);
}

static int
td_traverse(TradeDecoder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->decode);
    Py_VISIT(self->decode_message);
    Py_VISIT(self->envelope);
    Py_VISIT(self->message);
    Py_VISIT(self->text);
    Py_VISIT(self->decimals);
    Py_VISIT(self->layout);
    Py_VISIT(self->last_symbol);
    Py_VISIT(self->event);
    Py_VISIT(self->venue);
    Py_VISIT(self->names);
    Py_VISIT(self->buy);
    Py_VISIT(self->sell);
    Py_VISIT(self->check);
    Py_VISIT(self->min_price);
    Py_VISIT(self->max_value);
    return 0;
}

static int
td_clear(TradeDecoder *self)
{
    Py_CLEAR(self->decode);
    Py_CLEAR(self->decode_message);
    Py_CLEAR(self->envelope);
    Py_CLEAR(self->message);
    Py_CLEAR(self->text);
    Py_CLEAR(self->decimals);
    Py_CLEAR(self->layout);
    Py_CLEAR(self->last_symbol);
    Py_CLEAR(self->event);
    Py_CLEAR(self->venue);
    Py_CLEAR(self->names);
    Py_CLEAR(self->buy);
    Py_CLEAR(self->sell);
    Py_CLEAR(self->check);
    Py_CLEAR(self->min_price);
    Py_CLEAR(self->max_value);
    Py_CLEAR(self->scale_obj);
    Py_CLEAR(self->stream_prefix);
    Py_CLEAR(self->stream_suffix);
    return 0;
}

static void
td_dealloc(TradeDecoder *self)
{
    PyObject_GC_UnTrack(self);
    td_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
td_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    TradeDecoder *self = (TradeDecoder *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->vectorcall = td_vectorcall;
    return (PyObject *)self;
}

static PyObject *
td_call(PyObject *op, PyObject *args, PyObject *kwds)
{
    return PyVectorcall_Call(op, args, kwds);
}

static PyMethodDef td_methods[] = {
    {"run_frames", (PyCFunction)(void (*)(void))td_run_frames, METH_FASTCALL,
     "run_frames(frames, pos, ts, out, sequencer) -> pos of the first frame not consumed"},
    {NULL},
};

static PyTypeObject TradeDecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "botkit.protocol.binance._ctrades.TradeDecoder",
    .tp_doc = "Trade frames -> Trade events in C (see the module docstring).",
    .tp_basicsize = sizeof(TradeDecoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(TradeDecoder, vectorcall),
    .tp_call = td_call,
    .tp_new = td_new,
    .tp_init = (initproc)td_init,
    .tp_dealloc = (destructor)td_dealloc,
    .tp_traverse = (traverseproc)td_traverse,
    .tp_clear = (inquiry)td_clear,
    .tp_methods = td_methods,
};

/* HotPath(slow): a parser's ``parse`` with its common case in C. A feed sends runs of
 * a few streams (a symbol's trades, quotes and depth interleave), so a frame that starts
 * with the prefix of one of ``routes`` (a tuple of (prefix bytes, handler), most recent
 * first, which the Python side keeps) goes straight to its handler; anything else, and
 * any frame a handler raises on, goes to ``slow`` (the parser's Python ``parse``: the
 * reference, which also reports the error properly and updates the routes). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *slow, *routes;
} HotPath;

static PyObject *
hp_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    HotPath *self = (HotPath *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *routes = self->routes;
    if (nargs == 2 && kwnames == NULL && PyBytes_CheckExact(args[0]) && routes != NULL && PyTuple_CheckExact(routes)) {
        const char *frame = PyBytes_AS_STRING(args[0]);
        Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(routes); i++) {
            PyObject *route = PyTuple_GET_ITEM(routes, i);
            if (!PyTuple_CheckExact(route) || PyTuple_GET_SIZE(route) != 2)
                break;
            PyObject *prefix = PyTuple_GET_ITEM(route, 0);
            if (!PyBytes_CheckExact(prefix))
                break;
            Py_ssize_t plen = PyBytes_GET_SIZE(prefix);
            if (size < plen || memcmp(frame, PyBytes_AS_STRING(prefix), plen) != 0)
                continue;
            PyObject *held = Py_NewRef(route); /* the handler may replace the routes */
            PyObject *result = PyObject_Vectorcall(PyTuple_GET_ITEM(held, 1), args, 2, NULL);
            Py_DECREF(held);
            if (result != NULL || fall_back() < 0)
                return result;
            break;
        }
    }
    return PyObject_Vectorcall(self->slow, args, nargsf, kwnames);
}

static int
hp_init(HotPath *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"slow", NULL};
    PyObject *slow;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:HotPath", kwlist, &slow))
        return -1;
    Py_XSETREF(self->slow, Py_NewRef(slow));
    return 0;
}

static PyObject *
hp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    HotPath *self = (HotPath *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->vectorcall = hp_vectorcall;
    return (PyObject *)self;
}

static int
hp_traverse(HotPath *self, visitproc visit, void *arg)
{
    Py_VISIT(self->slow);
    Py_VISIT(self->routes);
    return 0;
}

static int
hp_clear(HotPath *self)
{
    Py_CLEAR(self->slow);
    Py_CLEAR(self->routes);
    return 0;
}

static void
hp_dealloc(HotPath *self)
{
    PyObject_GC_UnTrack(self);
    hp_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef hp_members[] = {
    {"routes", T_OBJECT, offsetof(HotPath, routes), 0,
     "((prefix, handler), ...): frames starting with a prefix go to its handler(frame, ts_recv) -> events"},
    {NULL},
};

static PyTypeObject HotPathType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "botkit.protocol.binance._ctrades.HotPath",
    .tp_doc = "A parser's parse(frame, ts_recv) with its recent streams' frames handled in C.",
    .tp_basicsize = sizeof(HotPath),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(HotPath, vectorcall),
    .tp_call = td_call,
    .tp_new = hp_new,
    .tp_init = (initproc)hp_init,
    .tp_dealloc = (destructor)hp_dealloc,
    .tp_traverse = (traverseproc)hp_traverse,
    .tp_clear = (inquiry)hp_clear,
    .tp_members = hp_members,
};

/* The entry points the recording-line scanner (botkit/sources/_clines.c) calls. */
static int
capi_run_frame(PyObject *decoder, const char *frame, Py_ssize_t len, PyObject *ts, PyObject *out,
               const BotkitSequence *seq)
{
    return run_frame((TradeDecoder *)decoder, frame, len, ts, out, seq);
}

static const BotkitTradesAPI capi = {
    BOTKIT_TRADES_API_VERSION, &TradeDecoderType, sequence_get, sequence_release, capi_run_frame,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ctrades", "Binance trade frames to Trade events, compiled (optional).", -1, NULL,
};

PyMODINIT_FUNC
PyInit__ctrades(void)
{
    if (PyType_Ready(&TradeDecoderType) < 0 || PyType_Ready(&HotPathType) < 0)
        return NULL;
    PyObject *decimal = PyImport_ImportModule("decimal");
    if (decimal == NULL)
        return NULL;
    decimal_type = PyObject_GetAttrString(decimal, "Decimal");
    Py_DECREF(decimal);
    if (decimal_type == NULL)
        return NULL;
    decimal_zero = PyObject_CallFunction(decimal_type, "i", 0);
    decimal_is_finite = PyObject_GetAttrString(decimal_type, "is_finite");
    if (decimal_zero == NULL || decimal_is_finite == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    PyObject *api = PyCapsule_New((void *)&capi, BOTKIT_TRADES_CAPSULE, NULL);
    if (api == NULL || PyModule_AddObject(m, "_C_API", api) < 0) {
        Py_XDECREF(api);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "TradeDecoder", (PyObject *)&TradeDecoderType) < 0 ||
        PyModule_AddObjectRef(m, "HotPath", (PyObject *)&HotPathType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
