"""Name -> factory catalogues for every configurable component kind.

A component in YAML is a name (`"adam"`), a mapping with `type` and arguments
(`{type: Adam, learning_rate: 0.01}`), or a user component by import path
(`my_pkg.losses:HuberLoss`, `path/to/file.py:HuberLoss`). A user reference to a plain function
that needs arguments (`file.py:huber_fn`, `def huber_fn(y_true, y_pred)`) is the component
itself, as Keras accepts functions everywhere; the kind decides how to use it. Names match case- and
underscore-insensitively, so Keras's `SparseCategoricalCrossentropy` and
`sparse_categorical_crossentropy` find the same entry. Argument checking happens here so
every component kind reports bad arguments the same way, with the key path.

Import references are code: a config read back from a checkpoint is data, so inside
`imports_refused(origin)` they are refused (built-in names stay allowed), and every imported
component is checked to be of its registry's kind before anything calls it.
"""
from __future__ import annotations

import contextlib
import contextvars
import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
from typing import Any, Callable, Iterator

from .errors import ConfigError
from .search_path import find_file

# Where the config being built came from when its import references must not run (a
# checkpoint); None when they may (the user's own config file).
_refused_origin: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "import_refs_refused_origin", default=None
)
TRUST_FLAG = "--trust-checkpoint-code"


@contextlib.contextmanager
def imports_refused(origin: str | None) -> Iterator[None]:
    """Refuse `module:Name` / `file.py:Name` references while building a config that came from
    `origin` (e.g. "the checkpoint runs/x/last.pt"); `None` allows them (the user vouches)."""
    token = _refused_origin.set(origin)
    try:
        yield
    finally:
        _refused_origin.reset(token)


def normalize(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def suggest(name: str, candidates: list[str]) -> str:
    """` (did you mean 'x'?)` or ``, for error messages."""
    by_norm = {normalize(c): c for c in candidates}
    close = difflib.get_close_matches(normalize(name), list(by_norm), n=1, cutoff=0.6)
    return f" (did you mean '{by_norm[close[0]]}'?)" if close else ""


def is_import_ref(name: str) -> bool:
    return ":" in name


def load_import_ref(ref: str, key_path: str) -> Any:
    """Load `package.module:Name` or `path/to/file.py:Name` named by a config."""
    origin = _refused_origin.get()
    if origin is not None:
        raise ConfigError(
            f"'{ref}' would import code, and this config comes from {origin}, which is data: "
            f"trainer never runs code a checkpoint names. To allow it, pass your own --config "
            f"(your file, your code), or add {TRUST_FLAG} if you trust whoever made it",
            key_path)
    return _import_ref(ref, key_path)


def _import_ref(ref: str, key_path: str) -> Any:
    module_ref, _, attr = ref.rpartition(":")
    if not module_ref or not attr:
        raise ConfigError(f"'{ref}' is not of the form 'module:Name' or 'file.py:Name'", key_path)
    if module_ref.endswith(".py"):
        module = _load_file_module(module_ref, key_path)
    else:
        try:
            module = importlib.import_module(module_ref)
        except ImportError as exc:
            raise ConfigError(f"cannot import module '{module_ref}': {exc}", key_path) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        names = [n for n in dir(module) if not n.startswith("_")]
        raise ConfigError(
            f"module '{module_ref}' has no '{attr}'{suggest(attr, names)}", key_path
        ) from None


def _load_file_module(file_ref: str, key_path: str) -> Any:
    """`file.py` next to the config first, then in the cwd (engine/search_path.py)."""
    path = find_file(file_ref, key_path).resolve()
    module_name = "trainer_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise ConfigError(f"error while importing {path}: {exc!r}", key_path) from exc
    return module


def split_spec(spec: Any, key_path: str, kind: str) -> tuple[str, dict[str, Any]]:
    """`"name"` or `{type: name, **args}` -> (name, args)."""
    if isinstance(spec, str):
        if not spec.strip():
            raise ConfigError(f"expected a {kind} name, got an empty string", key_path)
        return spec, {}
    if isinstance(spec, dict):
        if "type" not in spec:
            raise ConfigError(f"a {kind} mapping needs a 'type' key", key_path)
        args = {k: v for k, v in spec.items() if k != "type"}
        if not isinstance(spec["type"], str) or not spec["type"].strip():
            raise ConfigError(f"'type' must be a string naming a {kind}", f"{key_path}.type")
        return spec["type"], args
    raise ConfigError(
        f"expected a {kind} name or a mapping with 'type', got {type(spec).__name__}", key_path
    )


def check_arguments(factory: Callable, args: dict[str, Any], key_path: str, what: str,
                    context: tuple[str, ...] = ()) -> None:
    """Reject arguments the factory does not accept, naming the closest valid one."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in context]
    for name in args:
        if name not in accepted:
            raise ConfigError(
                f"unknown argument '{name}' for {what}{suggest(name, accepted)}; "
                f"accepted: {', '.join(accepted) or 'none'}",
                f"{key_path}.{name}",
            )
    missing = [n for n, p in params.items()
               if p.default is inspect.Parameter.empty and n not in args and n not in context
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if missing:
        raise ConfigError(f"{what} needs argument(s): {', '.join(missing)}", key_path)


class Registry:
    """One catalogue (layers, losses, metrics, ...): Keras names -> factories.

    `expects` says what an imported component must be before it is called: a tuple of base
    classes (a subclass of one), or "function" (anything callable that is not a class); by
    default a class whose instances are callable. `takes_functions`: a Keras-style component
    function (`loss(y_true, y_pred)`, `initializer(shape, dtype)`) is accepted as well."""

    def __init__(self, kind: str, expects: tuple[type, ...] | str | None = None,
                 takes_functions: bool = False):
        self.kind = kind
        self.expects = expects
        self.takes_functions = takes_functions
        self._entries: dict[str, Callable] = {}
        self._canonical: dict[str, str] = {}

    def register(self, *names: str) -> Callable[[Callable], Callable]:
        def decorate(factory: Callable) -> Callable:
            for name in names or (factory.__name__,):
                key = normalize(name)
                if key in self._entries and self._entries[key] is not factory:
                    raise RuntimeError(f"{self.kind} '{name}' registered twice")
                self._entries[key] = factory
                self._canonical.setdefault(key, name)
            return factory
        return decorate

    def declare(self, name: str, ref: str) -> None:
        """An entry named by its import path, imported when first looked up (built-ins that
        live outside the engine, such as the shipped recipes)."""
        self._entries[normalize(name)] = ref
        self._canonical.setdefault(normalize(name), name)

    def names(self) -> list[str]:
        return sorted(self._canonical.values())

    def __contains__(self, name: str) -> bool:
        return normalize(name) in self._entries

    def lookup(self, name: str, key_path: str) -> Callable:
        if is_import_ref(name):
            return self._checked_kind(load_import_ref(name, key_path), name, key_path)
        try:
            entry = self._entries[normalize(name)]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} '{name}'{suggest(name, self.names())}", key_path
            ) from None
        if isinstance(entry, str):  # declared by import path: import it once, keep the factory
            entry = self._entries[normalize(name)] = _import_ref(entry, key_path)
        return entry

    def _checked_kind(self, found: Any, ref: str, key_path: str) -> Any:
        if self.expects == "function":
            ok, wanted = callable(found) and not isinstance(found, type), "a function"
        elif self.expects:
            ok = isinstance(found, type) and issubclass(found, self.expects)
            wanted = "a subclass of " + " or ".join(_class_name(b) for b in self.expects)
        else:
            ok = isinstance(found, type) and any("__call__" in vars(k) for k in found.__mro__[:-1])
            wanted = "a class whose instances are callable"
        if not ok and self.takes_functions:
            ok, wanted = is_plain_function(found), wanted + ", or a function of its inputs"
        if not ok:
            article = "an" if self.kind[0] in "aeiou" else "a"
            raise ConfigError(f"'{ref}' is not {article} {self.kind}: expected {wanted}, found "
                              f"{_describe(found)}", key_path)
        return found

    def build(self, spec: Any, key_path: str, **context: Any) -> Any:
        """Build a component from its spec; `context` passes engine-supplied arguments."""
        name, args = split_spec(spec, key_path, self.kind)
        factory = self.lookup(name, f"{key_path}.type" if isinstance(spec, dict) else key_path)
        if is_import_ref(name) and not args and is_plain_function(factory):
            return factory
        what = f"{self.kind} '{name}'"
        check_arguments(factory, args, key_path, what, tuple(context))
        accepted = _accepted_context(factory, context)
        try:
            return factory(**args, **accepted)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"cannot build {what}: {exc}", key_path) from exc


def is_plain_function(obj: Any) -> bool:
    """A function (not a class) that cannot be called without arguments: a Keras-style
    component function such as `loss(y_true, y_pred)` or `initializer(shape, dtype)`."""
    if not inspect.isroutine(obj):
        return False
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.default is inspect.Parameter.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _accepted_context(factory: Callable, context: dict[str, Any]) -> dict[str, Any]:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(context)
    return {k: v for k, v in context.items() if k in params}


def _class_name(cls: type) -> str:
    """`Loss` for trainer's own bases; else the shortest public path (`torch.nn.Module`)."""
    if cls.__module__.startswith("trainer."):
        return cls.__name__
    parts = cls.__module__.split(".")
    for i in range(1, len(parts) + 1):
        module = sys.modules.get(".".join(parts[:i]))
        if getattr(module, cls.__name__, None) is cls:
            return f"{'.'.join(parts[:i])}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(found: Any) -> str:
    if isinstance(found, type):
        return f"the class {found.__module__}.{found.__qualname__}"
    if callable(found):
        return f"the function {getattr(found, '__module__', '?')}.{getattr(found, '__qualname__', found)}"
    return f"a {type(found).__name__} value"
