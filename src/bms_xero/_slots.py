"""Frozen attrs values built without their ``__init__``, for the few places where it is hot.

A pull reads 3,000 line items a page and a push changes each sync record several times.
attrs' generated ``__init__`` for a frozen class sets each field through a bound
``object.__setattr__`` (about 0.2 µs a field); setting the slot through its own descriptor
costs a fifth of that. The functions made here do exactly that, generated once per class as
straight-line code, the way attrs builds its ``__init__``:

- :func:`maker` builds a value from every field, by keyword. It is only for classes whose
  ``__init__`` does nothing else (no validators, converters, factories or hooks); it refuses
  any other class when it is made, so a check added to the class later can't be skipped.
- :func:`copier` copies a value with some fields replaced. The caller has already checked
  and converted the replacements (``SyncRecord.evolve``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

_T = TypeVar("_T", bound=attrs.AttrsInstance)


def _setters(cls: type[Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The class's field names, and a scope holding each slot's ``__set__`` under
    ``_set_<name>`` (a frozen class forbids ``setattr``, not its own descriptors)."""
    if "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slotted attrs class")
    names = tuple(field.name for field in attrs.fields(cls))
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for name in names:
        for klass in cls.__mro__:  # a field of a base class has its slot there
            if name in klass.__dict__:
                scope[f"_set_{name}"] = klass.__dict__[name].__set__
                break
    return names, scope


def _compiled(source: str, scope: dict[str, Any], name: str) -> Any:
    exec(source, scope)  # noqa: S102 - field names of our own classes only
    return scope[name]


def maker(cls: type[_T]) -> Callable[..., _T]:
    """A function that builds ``cls`` from every field, each passed by keyword.

    The value equals ``cls(**fields)``. Missing or unknown keywords are a TypeError.

    Raises:
        TypeError: ``cls`` checks or converts in its ``__init__``, so building it any other
            way could let a value through that it would refuse.
    """
    fields = attrs.fields(cls)
    hooks = [h for h in ("__attrs_pre_init__", "__attrs_post_init__") if hasattr(cls, h)]
    checked = [f.name for f in fields if f.validator is not None or f.converter is not None]
    if hooks or checked:
        raise TypeError(
            f"{cls.__name__} checks its values in __init__ ({', '.join(hooks + checked)}): "
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
