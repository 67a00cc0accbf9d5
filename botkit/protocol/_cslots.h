/*
 * Shared by botkit's C accelerators that build frozen attrs events: an event's fields
 * are object slots (member descriptors), filled in place of the constructor, exactly
 * as the constructor would fill them.
 */
#ifndef BOTKIT_CSLOTS_H
#define BOTKIT_CSLOTS_H

#include <Python.h>
#include <structmember.h>

/* Offset of the object slot ``name`` of ``type`` (a member descriptor), or -1. */
static Py_ssize_t
slot_offset(PyTypeObject *type, const char *name)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL)
        return -1;
    if (!Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, name);
        Py_DECREF(descr);
        return -1;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
    Py_ssize_t offset = member->offset;
    int kind = member->type;
    Py_DECREF(descr);
    if (kind != T_OBJECT_EX && kind != T_OBJECT) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", type->tp_name, name);
        return -1;
    }
    return offset;
}

#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))

#endif
