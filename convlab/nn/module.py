"""``Module``, ``Parameter`` and ``Sequential``: the small part of torch.nn's container API that convlab needs."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

__all__ = ["Parameter", "UninitializedParameter", "Module", "Sequential"]


class Parameter(np.ndarray):
    """An ndarray that a :class:`Module` registers as a learnable parameter.

    ``Parameter(data)`` views ``data`` (no copy when it already is a float
    ndarray). Arithmetic on a parameter returns plain ndarrays.

    Shape
    -----
    The shape of ``data``.

    Examples
    --------
    >>> import numpy as np
    >>> from convlab.nn import Parameter
    >>> p = Parameter(np.zeros(2, dtype=np.float32))
    >>> p
    Parameter containing:
    array([0., 0.], dtype=float32)
    >>> type(p + 1).__name__
    'ndarray'
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        if hasattr(data, "detach"):          # a CPU torch tensor
            data = data.detach().cpu().numpy()
        obj = np.asarray(data).view(cls)
        obj.requires_grad = requires_grad
        return obj

    def __array_finalize__(self, obj):
        self.requires_grad = getattr(obj, "requires_grad", True)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        if return_scalar or array.ndim == 0:
            return array[()]
        return array.view(np.ndarray)

    def __reduce__(self):
        return (Parameter, (np.asarray(self).copy(), self.requires_grad))

    def __repr__(self):
        return "Parameter containing:\n" + repr(np.asarray(self))


class UninitializedParameter:
    """Placeholder weight of a Lazy module until its first call fixes ``in_channels``.

    Shape
    -----
    None yet: reading ``.shape`` raises RuntimeError; ``materialize(shape)`` returns the :class:`Parameter`.

    Examples
    --------
    >>> import convlab.nn as nn
    >>> p = nn.UninitializedParameter()
    >>> p, p.materialize((2, 3)).shape
    (<UninitializedParameter>, (2, 3))
    """

    requires_grad = True

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter: call the Lazy module on an input first "
            "(its first call infers in_channels and materializes the weight)"
        )

    def materialize(self, shape) -> Parameter:
        return Parameter(np.empty(shape, dtype=self.dtype))

    def __repr__(self):
        return "<UninitializedParameter>"


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns; prints as torch's when every key matched."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class of convlab layers, with torch.nn.Module's bookkeeping.

    Assigning a :class:`Parameter` (or another module) to an attribute
    registers it; ``m(x)`` calls ``m.forward(x)``.

    Shape
    -----
    Whatever ``forward`` takes and returns.

    Examples
    --------
    >>> import numpy as np, convlab.nn as nn
    >>> class Scale(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = nn.Parameter(np.full(1, 2.0, dtype=np.float32))
    ...     def forward(self, x):
    ...         return x * self.w
    >>> m = Scale()
    >>> [name for name, _ in m.named_parameters()], m(np.ones(2, dtype=np.float32))
    (['w'], array([2., 2.], dtype=float32))
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- attribute registration ------------------------------------------------
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, (Parameter, UninitializedParameter)):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self.__dict__.pop(name, None)
            self._modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self.__dict__.pop(name, None)
            params.pop(name, None)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is None:
                params[name] = None
            elif isinstance(value, np.ndarray) or hasattr(value, "detach"):
                params[name] = Parameter(value)
            else:
                raise TypeError(f"cannot assign {type(value).__name__!r} as parameter {name!r} "
                                "(convlab.nn.Parameter, an ndarray or None expected)")
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param) -> None:
        """Register ``param`` (a Parameter or None) under ``name``."""
        if param is not None and not isinstance(param, (Parameter, UninitializedParameter)):
            raise TypeError(f"cannot assign {type(param).__name__!r} as parameter {name!r} "
                            "(convlab.nn.Parameter or None expected)")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def add_module(self, name: str, module) -> None:
        """Register a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    # -- calling ------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- traversal ----------------------------------------------------------------
    def named_modules(self, memo=None, prefix=""):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield mod_prefix + ("." if mod_prefix else "") + name, p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def train(self, mode: bool = True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def apply(self, fn):
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def _cast(self, dtype):
        for m in self.modules():
            for name, p in m._parameters.items():
                if isinstance(p, Parameter):
                    m._parameters[name] = Parameter(np.asarray(p).astype(dtype), p.requires_grad)
                elif isinstance(p, UninitializedParameter):
                    p.dtype = np.dtype(dtype)
            if hasattr(m, "dtype"):
                object.__setattr__(m, "dtype", np.dtype(dtype))
        return self

    def double(self):
        """Cast every parameter to float64 (in place); returns self."""
        return self._cast(np.float64)

    def float(self):
        """Cast every parameter to float32 (in place); returns self."""
        return self._cast(np.float32)

    # -- state ----------------------------------------------------------------------
    def state_dict(self):
        """An ordered dict ``name -> ndarray`` (views of the parameters, as torch shares storage)."""
        out = OrderedDict()
        for name, (mod, local) in self._named_parameter_slots():
            p = mod._parameters[local]
            if p is None:
                continue
            if isinstance(p, UninitializedParameter):
                out[name] = p
            else:
                out[name] = np.asarray(p)
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy arrays into the parameters; keys and shapes must match (``strict=True``).

        Values may be anything ``np.asarray`` accepts, CPU torch tensors included.
        Returns ``(missing_keys, unexpected_keys)``; raises RuntimeError listing
        every problem otherwise, as torch does.
        """
        # A slot holding None (bias=False) takes no key: a "bias" entry for it is unexpected, as in torch.
        own = {k: (mod, name) for k, (mod, name) in self._named_parameter_slots()
               if mod._parameters[name] is not None}
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        loaded = {}
        for key, value in state_dict.items():
            if key not in own:
                continue
            if isinstance(value, UninitializedParameter):    # from an uninitialized Lazy module: nothing to copy
                mod, name = own[key]
                if not isinstance(mod._parameters[name], UninitializedParameter):
                    errors.append(f"can't load the uninitialized parameter {key} into an initialized one: call the "
                                  f"Lazy module that saved it on an input first")
                continue
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            value = np.asarray(value)
            mod, name = own[key]
            current = mod._parameters[name]
            if not np.issubdtype(value.dtype, np.number):
                errors.append(f"dtype mismatch for {key}: expected numbers, got {value.dtype}.")
                continue
            if not isinstance(current, UninitializedParameter) and value.shape != current.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} from checkpoint, "
                              f"the shape in current model is {current.shape}.")
                continue
            loaded[key] = (mod, name, value)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        for key, (mod, name, value) in loaded.items():
            current = mod._parameters[name]
            if isinstance(current, UninitializedParameter):
                mod._parameters[name] = Parameter(value.astype(current.dtype))
            else:
                current[...] = value
        return _IncompatibleKeys(missing, unexpected)

    def _named_parameter_slots(self, prefix=""):
        """``full_name -> (module, local_name)`` for every registered slot, None included.

        Unlike ``named_modules`` this does not skip a module met twice: as in torch,
        a shared child appears in the state dict under each of its names.
        """
        for name in self._parameters:
            yield prefix + name, (self, name)
        for name, child in self._modules.items():
            if child is not None:
                yield from child._named_parameter_slots(prefix + name + ".")

    # -- repr -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({key}): " + _addindent(repr(mod), 2) for key, mod in self._modules.items()]
        lines = lines + children
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not children:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(self._parameters) | set(self._modules))


class Sequential(Module):
    """Modules called one after the other, as ``torch.nn.Sequential``.

    Shape
    -----
    The first module's input to the last module's output.

    Examples
    --------
    >>> import numpy as np, convlab.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, stride=2))
    >>> net(np.zeros((1, 3, 16, 16), dtype=np.float32)).shape
    (1, 4, 7, 7)
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        if not -len(items) <= idx < len(items):
            raise IndexError(f"index {idx} is out of range for a Sequential of length {len(items)}")
        return items[idx][1]

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self
