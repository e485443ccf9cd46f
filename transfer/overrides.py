"""`--cfg-options` of a transfer task, checked before they are merged: a misspelt key is an error
naming it and the closest known key, never a silently ignored addition.

mmengine merges any dotted key into the config, creating what is missing, and the toolboxes
ignore what they do not read. Each key of an override is checked against the task's resolved
config, level by level:
  - an existing key (or list index) is fine, at any depth;
  - a new key is fine only where its section's schema is known and takes it: a section with a
    `type` takes the parameters of what that type builds (the `__init__` signature of the class
    the toolbox's registry holds, following `**kwargs` into its base classes), the top level
    takes what mmengine's Runner reads;
  - a new key in a section without a known schema (no `type`, e.g. `env_cfg`) is fine as the
    last part of an override (a new leaf), an error as an intermediate part (a section that does
    not exist, e.g. `train.max_iters` when the section is `train_cfg`).
"""

from __future__ import annotations

import importlib
import inspect

from common.keys import unknown_keys_message

# What the Runner reads from a config besides its __init__ parameters (mmengine 0.10.7
# Runner.from_cfg and its build_* methods), and this suite's own top-level key.
RUNNER_EXTRA_KEYS = {"model_wrapper_cfg", "auto_scale_lr", "find_unused_parameters", "compile", "strategy",
                     "activation_checkpointing", "efficient_conv_bn_eval", "log_level", "resume",
                     "data_root_layout"}
# Keys a section holds for whoever builds it, not for its `type`: mmengine's build_optim_wrapper
# pops `constructor` and `paramwise_cfg` (e.g. a 10x lr for the heads) before OptimWrapper sees it.
BUILDER_KEYS = {"optim_wrapper": {"constructor", "paramwise_cfg"}}
REGISTRIES = ("MODELS", "DATASETS", "TRANSFORMS", "HOOKS", "LOOPS", "OPTIMIZERS", "OPTIM_WRAPPERS",
              "OPTIM_WRAPPER_CONSTRUCTORS", "PARAM_SCHEDULERS", "METRICS", "EVALUATOR", "DATA_SAMPLERS",
              "TASK_UTILS", "VISUALIZERS", "VISBACKENDS", "LOG_PROCESSORS", "WEIGHT_INITIALIZERS",
              "MODEL_WRAPPERS")


def forwarded_kwargs() -> dict:
    """Classes whose **kwargs go to one known callee: {class: callee}. CheckpointHook hands its
    extra arguments to Runner.save_checkpoint (mmengine 0.10.7)."""
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import Runner

    return {CheckpointHook: Runner.save_checkpoint}


def init_parameters(obj) -> set[str] | None:
    """The keyword parameters a class's __init__ (or a function) accepts; None when it takes
    anything (**kwargs that reach no closed signature)."""
    if not inspect.isclass(obj):
        params, open_ended = _signature(obj)
        return None if open_ended else params
    accepted: set[str] = set()
    for cls in obj.__mro__:
        if cls is object:
            return None  # **kwargs all the way up: no schema
        if "__init__" not in cls.__dict__:
            continue
        params, open_ended = _signature(cls.__init__)
        accepted |= params - {"self"}
        if open_ended and cls in forwarded_kwargs():
            params, open_ended = _signature(forwarded_kwargs()[cls])
            accepted |= params - {"self"}
        if not open_ended:
            return accepted
    return None


def _signature(func) -> tuple[set[str], bool]:
    """(named parameters, whether it also takes **kwargs); a C function counts as open-ended."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return set(), True
    named = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return named, any(p.kind == p.VAR_KEYWORD for p in parameters)


def schema_of(section: dict, scope: str) -> set[str] | None:
    """The keys a config section with a `type` may hold (None: unknown, anything goes)."""
    kind = section.get("type")
    if kind is None:
        return None
    if not isinstance(kind, str):
        params = init_parameters(kind)
        return None if params is None else {"type", *params}
    registry_module = importlib.import_module(f"{scope}.registry")
    targets = []
    for name in REGISTRIES:
        registry = getattr(registry_module, name, None)
        found = registry.get(kind) if registry is not None else None
        if found is not None:
            targets.append(found)
    if not targets:
        return None
    # the same name in several registries: accept what any of them takes
    schemas = [init_parameters(t) for t in targets]
    if any(s is None for s in schemas):
        return None
    return {"type", *set().union(*schemas)}


def top_level_keys() -> set[str]:
    from mmengine.runner import Runner

    return (init_parameters(Runner.__init__) or set()) - {"self"} | RUNNER_EXTRA_KEYS


def check_overrides(cfg: dict, options: dict, scope: str, source: str = "--cfg-options") -> None:
    """Raise KeyError for the first override key that is unknown where it points (module doc).
    `cfg` is the task's resolved config (before the overrides), `scope` its toolbox."""
    from mmengine.registry import init_default_scope

    init_default_scope(scope)
    for key in options:
        _check_key(cfg, key, scope, source)


def _check_key(cfg: dict, key: str, scope: str, source: str) -> None:
    parts = key.split(".")
    node = cfg
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth])
        last = depth == len(parts) - 1
        if isinstance(node, list | tuple):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(f"{source} '{key}': {where} is a list of {len(node)} entries; "
                               f"'{part}' is not an index of it")
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise KeyError(f"{source} '{key}': {where} is {node!r}, not a section with keys")
        if part in node:
            node = node[part]
            continue
        schema = top_level_keys() if depth == 0 else schema_of(node, scope)
        if schema is not None:
            schema |= BUILDER_KEYS.get(where, set())
        if schema is not None and part in schema:
            return  # a parameter the section's type takes; deeper levels have no config to check
        if schema is None and last:
            return  # a new leaf in a section whose schema is unknown
        known = set(node) | (schema or set())
        what = "a section that does not exist" if not last else "an unknown key"
        raise KeyError(f"{source} '{key}' names {what}: {unknown_keys_message([part], known, where)}")
