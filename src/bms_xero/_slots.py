"""Frozen attrs values built without their ``__init__``, for the few places where it is hot.

A pull reads 3,000 line items a page and a push changes each sync record several times.
attrs' generated ``__init__`` for a frozen class sets each field through a bound
``object.__setattr__`` (about 0.2 µs a field); setting the slot through its own descriptor
costs a fifth of that. The functions made here do exactly that, generated once per class as
straight-line code, the way attrs builds its ``__init__``:

- :func:`maker` builds a value from every field, by keyword. It is only for classes whose
  ``__init__`` is attrs' own and does nothing but set each field (no validators,
  converters, hooks or cached hash); it refuses any other class when it is made, so a check
  added to the class later can't be skipped.
- :func:`copier` copies a value with some fields replaced. The caller has already checked
  and converted the replacements (``SyncRecord.evolve``).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

_T = TypeVar("_T", bound=attrs.AttrsInstance)


#: Names the generated code uses itself: a field named so is refused rather than shadowed.
_RESERVED = frozenset({"new", "value", "c", "_new", "_cls", "_evolve"})


def _setters(cls: type[Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The class's field names, and a scope holding each slot's ``__set__`` under
    ``_set_<name>`` (a frozen class forbids ``setattr``, not its own descriptors).

    Raises:
        TypeError: ``cls`` is no slotted attrs class, a field has no slot of its own (a
            base class without slots holds it in a ``__dict__``), or a field's name is one
            the generated code uses.
    """
    if "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slotted attrs class")
    names = tuple(field.name for field in attrs.fields(cls))
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for name in names:
        if name in _RESERVED or name.startswith("_set_"):
            raise TypeError(f"{cls.__name__}.{name}: a name the generated code uses itself")
        slot = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
        if type(slot) is not types.MemberDescriptorType:
            raise TypeError(f"{cls.__name__}.{name} has no slot of its own to set")
        scope[f"_set_{name}"] = slot.__set__
    return names, scope


def _compiled(source: str, scope: dict[str, Any], name: str) -> Any:
    exec(source, scope)  # noqa: S102 - field names of our own classes only
    return scope[name]


def maker(cls: type[_T]) -> Callable[..., _T]:
    """A function that builds ``cls`` from every field, each passed by keyword.

    The value equals ``cls(**fields)``. Missing or unknown keywords are a TypeError.

    Raises:
        TypeError: ``cls``'s ``__init__`` does more than set each field from the keyword of
            its name (its own ``__init__``, validators, converters, hooks, a cached hash,
            fields it leaves out or takes under another name), so building it any other way
            could let through a value it would refuse, or leave something unset.
    """
    fields = attrs.fields(cls)
    init = getattr(cls.__init__, "__code__", None)
    reasons = [h for h in ("__attrs_pre_init__", "__attrs_post_init__") if hasattr(cls, h)]
    if init is None or not init.co_filename.startswith("<attrs generated"):
        reasons.append("its own __init__")
    if hasattr(cls, "_attrs_cached_hash"):
        reasons.append("cache_hash")
    reasons += [
        f.name
        for f in fields
        if f.validator is not None
        or f.converter is not None
        or not f.init
        or getattr(f, "alias", f.name) != f.name
    ]
    if reasons:
        raise TypeError(
            f"{cls.__name__} does more in __init__ than set its fields ({', '.join(reasons)}): "
            "build it with its constructor"
        )
    names, scope = _setters(cls)
    lines = "".join(f"    _set_{n}(new, {n})\n" for n in names)
    source = f"def make(*, {', '.join(names)}):\n    new = _new(_cls)\n{lines}    return new\n"
    made: Callable[..., _T] = _compiled(source, scope, "make")
    return made


def copier(cls: type[_T]) -> Callable[[_T, Mapping[str, Any]], _T]:
    """A function ``copy(value, changes)``: a copy of ``value`` with the fields named in
    ``changes`` set to theirs, as given. Nothing is checked or converted: ``changes`` must
    hold values the class would have made itself. A subclass's value (which may have fields
    of its own) is copied by ``attrs.evolve``, which runs its ``__init__``."""
    names, scope = _setters(cls)
    scope["_evolve"] = lambda value, c: attrs.evolve(value, **c)
    lines = "".join(f"    _set_{n}(new, c[{n!r}] if {n!r} in c else value.{n})\n" for n in names)
    source = (
        "def copy(value, c):\n"
        "    if type(value) is not _cls:\n"
        "        return _evolve(value, c)\n"
        f"    new = _new(_cls)\n{lines}    return new\n"
    )
    copy: Callable[[_T, Mapping[str, Any]], _T] = _compiled(source, scope, "copy")
    return copy
