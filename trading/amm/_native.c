/*
 * Listonian's native quote: the Uniswap V2 exact-input formula in fixed-width
 * integers, for the common case only. Built by `make setup`
 * (scripts/build_native.py); without it the Python method answers every quote.
 *
 *     with_fee = amount_in * (10000 - fee_bps)
 *     out = with_fee * reserve_out // (reserve_in * 10000 + with_fee)
 *
 * is computed here when the pool's token_in is token0 or token1 (the same
 * str), amount_in > 0, 0 < reserve_in, reserve_in + amount_in <= 2**112 - 1,
 * 0 < reserve_out <= 2**112 - 1 and 0 <= fee_bps < 10000 (all Python ints).
 * Every other case goes to the Python method, which raises the contract's
 * errors or accepts another spelling of a token address.
 *
 * Within those bounds with_fee < 2**126, the denominator < 2**127 and the
 * numerator < 2**238: the product is taken in four 64-bit limbs and divided by
 * the two-limb denominator with Knuth's algorithm D. The quotient is smaller
 * than reserve_out, so it fits 112 bits.
 *
 * Entry points:
 *   bind_v2_amount_out(cls, checked)  V2PoolState.amount_out, reading the
 *                                     instance's slots directly
 *   v2_quote(amount_in, reserve_in, reserve_out, fee_bps)
 *                                     the quote, or None off the fast path
 *   div_wide(n_hi, n_lo, d)           the 256-by-128-bit division alone
 *
 * Pure integer maths, no I/O. The only state is the bound class's slot
 * offsets and its Python method, set once at import.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef uint64_t u64;

#define BPS 10000u

static const u128 UINT112_MAX = (((u128)1) << 112) - 1;

/* ``value`` as an unsigned 128-bit integer. 1 on success; 0 when it is not an
 * int, is negative or needs more than 128 bits (no Python error is left set). */
static int
as_u128(PyObject *value, u128 *out)
{
    if (!PyLong_Check(value)) {
        return 0;
    }
#if PY_VERSION_HEX >= 0x030D0000
    Py_ssize_t needed = PyLong_AsNativeBytes(
        value, out, sizeof *out,
        Py_ASNATIVEBYTES_NATIVE_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER |
            Py_ASNATIVEBYTES_REJECT_NEGATIVE);
    if (needed < 0) {
        PyErr_Clear();
        return 0;
    }
    return (size_t)needed <= sizeof *out;
#else
    if (_PyLong_AsByteArray((PyLongObject *)value, (unsigned char *)out, sizeof *out,
                            PY_LITTLE_ENDIAN, 0) < 0) {
        PyErr_Clear(); /* negative, or more than 128 bits */
        return 0;
    }
    return 1;
#endif
}

/* Like as_u128, for the quote's inputs: 0 also from 2**120 up (none of them
 * can be that large on the fast path). Reads CPython's 30-bit digits directly
 * where the headers describe them, which is several times faster. */
static inline int
as_small(PyObject *value, u128 *out)
{
#if defined(_PyLong_NON_SIZE_BITS) && defined(_PyLong_SIGN_MASK) && PyLong_SHIFT == 30
    if (!PyLong_Check(value)) {
        return 0;
    }
    const PyLongObject *number = (const PyLongObject *)value;
    uintptr_t tag = number->long_value.lv_tag;
    if ((tag & _PyLong_SIGN_MASK) == 2) { /* negative */
        return 0;
    }
    uintptr_t digits = tag >> _PyLong_NON_SIZE_BITS;
    if (digits > 4) {
        return 0;
    }
    u128 result = 0;
    for (uintptr_t i = digits; i > 0; i--) {
        result = (result << PyLong_SHIFT) | number->long_value.ob_digit[i - 1];
    }
    *out = result;
    return 1;
#else
    return as_u128(value, out) && (*out >> 120) == 0;
#endif
}

static PyObject *
from_u128(u128 value)
{
    if (value >> 64 == 0) {
        return PyLong_FromUnsignedLongLong((unsigned long long)value);
    }
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(&value, sizeof value, Py_ASNATIVEBYTES_NATIVE_ENDIAN);
#else
    return _PyLong_FromByteArray((const unsigned char *)&value, sizeof value, PY_LITTLE_ENDIAN, 0);
#endif
}

/* (u2:u1:u0) / (d1:d0) for (u2:u1) < (d1:d0) and the top bit of d1 set: the
 * 64-bit quotient digit, the remainder in *rem (Knuth, TAOCP 4.3.1, D3-D4).
 *
 * With a two-digit divisor, D3's test covers every digit of the divisor: once
 * it passes, qhat * (d1:d0) <= (u2:u1:u0), while qhat never drops below the
 * true digit. So qhat is exact and D6's add-back cannot happen. */
static u64
div_3by2(u64 u2, u64 u1, u64 u0, u64 d1, u64 d0, u128 *rem)
{
    u128 top = ((u128)u2 << 64) | u1;
    u128 qhat, rhat;
    if (u2 >= d1) { /* only u2 == d1 here: the digit is at most 2**64 - 1 */
        qhat = UINT64_MAX;
        rhat = top - qhat * d1;
    } else {
        qhat = top / d1;
        rhat = top % d1;
    }
    /* D3: at most two corrections. Once rhat >= 2**64 the test holds anyway. */
    while (rhat >> 64 == 0 && qhat * d0 > ((rhat << 64) | u0)) {
        qhat--;
        rhat += d1;
    }
    /* D4: (u2:u1:u0) - qhat * (d1:d0) = (top - p1 - borrow) * 2**64 + (u0 - p0),
     * which is below the divisor, so below 2**128. */
    u128 p0 = qhat * d0;
    u128 p1 = qhat * d1 + (p0 >> 64);
    u64 low = (u64)p0;
    *rem = ((top - p1 - (u0 < low)) << 64) | (u64)(u0 - low);
    return (u64)qhat;
}

/* floor(n / d) for n = (n3:n2:n1:n0) < d * 2**128 and 0 < d < 2**127. */
static u128
div_256_by_128(u64 n3, u64 n2, u64 n1, u64 n0, u128 d)
{
    /* Normalise: shift both so the divisor's top bit is set (s is 1..127). */
    int s = d >> 64 ? __builtin_clzll((u64)(d >> 64)) : 64 + __builtin_clzll((u64)d);
    d <<= s;
    u64 limbs[5] = {n0, n1, n2, n3, 0};
    if (s >= 64) {
        limbs[4] = limbs[3];
        limbs[3] = limbs[2];
        limbs[2] = limbs[1];
        limbs[1] = limbs[0];
        limbs[0] = 0;
        s -= 64;
    }
    if (s > 0) {
        for (int i = 4; i > 0; i--) {
            limbs[i] = (limbs[i] << s) | (limbs[i - 1] >> (64 - s));
        }
        limbs[0] <<= s;
    }
    /* n < d * 2**128 keeps the shifted numerator within four limbs. */
    u64 d1 = (u64)(d >> 64), d0 = (u64)d;
    u128 rem;
    u64 q1 = div_3by2(limbs[3], limbs[2], limbs[1], d1, d0, &rem);
    u64 q0 = div_3by2((u64)(rem >> 64), (u64)rem, limbs[0], d1, d0, &rem);
    return ((u128)q1 << 64) | q0;
}

/* a * b as four 64-bit limbs, least significant first. */
static void
mul_128(u128 a, u128 b, u64 out[4])
{
    u64 a0 = (u64)a, a1 = (u64)(a >> 64), b0 = (u64)b, b1 = (u64)(b >> 64);
    u128 p00 = (u128)a0 * b0;
    u128 p01 = (u128)a0 * b1;
    u128 p10 = (u128)a1 * b0;
    u128 p11 = (u128)a1 * b1;
    u128 mid = (p00 >> 64) + (u64)p01 + (u64)p10;
    out[0] = (u64)p00;
    out[1] = (u64)mid;
    u128 high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    out[2] = (u64)high;
    out[3] = (u64)(high >> 64);
}

/* 1 if ``token`` is ``other``: the same object, or equal strings. */
static int
same_token(PyObject *token, PyObject *other)
{
    if (token == other) {
        return 1;
    }
    return PyUnicode_CheckExact(token) && PyUnicode_CheckExact(other) &&
           PyUnicode_Compare(token, other) == 0;
}

/* The quote for u128 inputs, or 0 with *ok = 0 outside the bounds above. */
static u128
v2_quote_u128(u128 amount_in, u128 reserve_in, u128 reserve_out, u128 fee, int *ok)
{
    if (amount_in == 0 || reserve_in == 0 || reserve_in > UINT112_MAX ||
        amount_in > UINT112_MAX - reserve_in || reserve_out == 0 ||
        reserve_out > UINT112_MAX || fee >= BPS) {
        *ok = 0;
        return 0;
    }
    *ok = 1;
    u128 with_fee = amount_in * (BPS - (u64)fee);  /* < 2**126 */
    u128 denominator = reserve_in * BPS + with_fee; /* < 2**127 */
    u64 numerator[4];
    mul_128(with_fee, reserve_out, numerator); /* < 2**238 */
    return div_256_by_128(numerator[3], numerator[2], numerator[1], numerator[0], denominator);
}

/* v2_quote(amount_in, reserve_in, reserve_out, fee_bps): the quote, or None. */
static PyObject *
v2_quote(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "v2_quote(amount_in, reserve_in, reserve_out, fee_bps) takes 4 arguments");
        return NULL;
    }
    u128 amount_in, reserve_in, reserve_out, fee;
    int ok = 0;
    if (!as_small(args[0], &amount_in) || !as_small(args[1], &reserve_in) ||
        !as_small(args[2], &reserve_out) || !as_small(args[3], &fee)) {
        Py_RETURN_NONE;
    }
    u128 out = v2_quote_u128(amount_in, reserve_in, reserve_out, fee, &ok);
    if (!ok) {
        Py_RETURN_NONE;
    }
    return from_u128(out);
}

/* The pool class's method, read straight from its slots (see bind_v2_amount_out). */
static PyObject *v2_checked = NULL; /* the Python method: every case off the fast path */
static Py_ssize_t v2_offsets[5];    /* token0, token1, reserve0, reserve1, fee_bps */
static const char *const v2_fields[5] = {"token0", "token1", "reserve0", "reserve1", "fee_bps"};

static PyObject *
v2_amount_out_method(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                     PyObject *kwnames)
{
    if (nargs == 2 && kwnames == NULL) {
        PyObject *fields[5];
        for (int i = 0; i < 5; i++) {
            fields[i] = *(PyObject **)((char *)self + v2_offsets[i]);
        }
        PyObject *reserve_in = NULL, *reserve_out = NULL;
        if (fields[0] != NULL && same_token(args[0], fields[0])) {
            reserve_in = fields[2];
            reserve_out = fields[3];
        } else if (fields[1] != NULL && same_token(args[0], fields[1])) {
            reserve_in = fields[3];
            reserve_out = fields[2];
        }
        u128 amount, r_in, r_out, fee;
        int ok = 0;
        if (reserve_in != NULL && reserve_out != NULL && fields[4] != NULL &&
            as_small(args[1], &amount) && as_small(reserve_in, &r_in) &&
            as_small(reserve_out, &r_out) && as_small(fields[4], &fee)) {
            u128 out = v2_quote_u128(amount, r_in, r_out, fee, &ok);
            if (ok) {
                return from_u128(out);
            }
        }
    }
    /* Anything else (an error to raise, another spelling of a token, keywords)
     * is the Python method's, called with the same arguments. */
    Py_ssize_t given = nargs + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject **stack = PyMem_Malloc((size_t)(given + 1) * sizeof(PyObject *));
    if (stack == NULL) {
        return PyErr_NoMemory();
    }
    stack[0] = self;
    if (given > 0) {
        memcpy(stack + 1, args, (size_t)given * sizeof(PyObject *));
    }
    PyObject *result = PyObject_Vectorcall(v2_checked, stack, (size_t)nargs + 1, kwnames);
    PyMem_Free(stack);
    return result;
}

static PyMethodDef v2_amount_out_def = {
    "amount_out",
    (PyCFunction)(void (*)(void))v2_amount_out_method,
    METH_FASTCALL | METH_KEYWORDS,
    "amount_out($self, token_in, amount_in, /)\n--\n\n"
    "Exact output of selling amount_in of token_in into this pair (the native\n"
    "fast path of the Python method, which handles every other case).",
};

/* bind_v2_amount_out(cls, checked): a method descriptor for ``cls`` that
 * quotes from the instance's slots, and calls ``checked(self, ...)`` for
 * every case off the fast path. ``cls`` must keep token0, token1, reserve0,
 * reserve1 and fee_bps in __slots__. */
static PyObject *
bind_v2_amount_out(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyType_Check(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "bind_v2_amount_out(cls, checked) takes a class and a callable");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    Py_ssize_t offsets[5];
    for (int i = 0; i < 5; i++) {
        PyObject *descr = PyObject_GetAttrString(args[0], v2_fields[i]);
        if (descr == NULL) {
            return NULL;
        }
        int is_slot = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                      ((PyMemberDescrObject *)descr)->d_member->type == Py_T_OBJECT_EX &&
                      PyType_IsSubtype(cls, PyDescr_TYPE(descr));
        if (is_slot) {
            offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        }
        Py_DECREF(descr);
        if (!is_slot) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", cls->tp_name, v2_fields[i]);
            return NULL;
        }
    }
    /* The descriptors share the offsets: binding again (a module reload) must
     * find the same layout. */
    if (v2_checked != NULL && memcmp(v2_offsets, offsets, sizeof offsets) != 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "bind_v2_amount_out: bound already, to a class with other slots");
        return NULL;
    }
    PyObject *method = PyDescr_NewMethod(cls, &v2_amount_out_def);
    if (method == NULL) {
        return NULL;
    }
    memcpy(v2_offsets, offsets, sizeof offsets);
    Py_INCREF(args[1]);
    Py_XSETREF(v2_checked, args[1]);
    return method;
}

/* floor((n_hi * 2**128 + n_lo) / d), for tests of the division alone: None
 * where the quotient would not fit 128 bits or d is 0 or needs 128 bits. */
static PyObject *
div_wide(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "div_wide(n_hi, n_lo, d) takes 3 arguments");
        return NULL;
    }
    u128 n_hi, n_lo, d;
    if (!as_u128(args[0], &n_hi) || !as_u128(args[1], &n_lo) || !as_u128(args[2], &d)) {
        Py_RETURN_NONE;
    }
    if (d == 0 || d >> 127 || n_hi >= d) {
        Py_RETURN_NONE;
    }
    return from_u128(div_256_by_128((u64)(n_hi >> 64), (u64)n_hi, (u64)(n_lo >> 64),
                                    (u64)n_lo, d));
}

static PyMethodDef methods[] = {
    {"v2_quote", (PyCFunction)(void (*)(void))v2_quote, METH_FASTCALL,
     "v2_quote(amount_in, reserve_in, reserve_out, fee_bps): the exact-input quote, or\n"
     "None outside the fast path's bounds."},
    {"bind_v2_amount_out", (PyCFunction)(void (*)(void))bind_v2_amount_out, METH_FASTCALL,
     "bind_v2_amount_out(cls, checked): the pool class's amount_out method descriptor."},
    {"div_wide", (PyCFunction)(void (*)(void))div_wide, METH_FASTCALL,
     "floor((n_hi * 2**128 + n_lo) / d) for n_hi < d < 2**127, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_native",
    .m_doc = "Listonian's native quotes (fixed-width integer maths, no I/O).",
    .m_size = -1, /* the bound class's state is per process */
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModule_Create(&module_def);
}
