"""A module imported when one of its attributes is first used (issue 13: a warm re-code's start-up)."""

from __future__ import annotations

import importlib


class LazyModule:
    """Stands for the module ``name`` and imports it on the first attribute read (``pd = LazyModule("pandas")``):
    importing a module of the toolkit then costs nothing for a library its run does not use. Annotations are
    strings (``from __future__ import annotations``), so ``frame: pd.DataFrame`` reads nothing."""

    def __init__(self, name: str) -> None:
        self.__dict__["_name"] = name

    def __getattr__(self, attribute: str):
        module = importlib.import_module(self.__dict__["_name"])
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_name']!r}>"
