"""The base of every stage's Maker: pass its settings on to its job and name the job.

A stage Maker (atomate2's pattern: a dataclass whose fields are the job's settings) makes
its job by calling the job function with those fields and giving the job the Maker's
``name``. :class:`StageMaker` does that once for all of them. This module imports nothing
from the stages, so every stage can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from jobflow import Job, Maker

__all__ = ["StageMaker"]


@dataclass
class StageMaker(Maker):
    """A stage's Maker: its fields besides ``name`` are its job function's keywords.

    Parameters
    ----------
    name : str
        Job name (the stage's name in the discovery flow).
    """

    name: str = "stage"

    def settings(self, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
        """The Maker's fields except ``name`` (and ``exclude``), by name.

        Parameters
        ----------
        exclude : tuple of str
            Further fields the job function does not take as they are.

        Returns
        -------
        dict of str to Any
            Field name -> value, in field order.
        """
        skip = {"name", *exclude}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    def named_job(
        self,
        function: Callable[..., Job],
        *args: Any,
        exclude: tuple[str, ...] = (),
        **overrides: Any,
    ) -> Job:
        """``function(*args, **settings)``, named after the Maker.

        Parameters
        ----------
        function : callable
            The ``@job`` function of the stage.
        *args
            Positional inputs of the job (upstream outputs or their references).
        exclude : tuple of str
            Fields not passed on as they are (e.g. ones that ``overrides`` converts).
        **overrides
            Keywords that replace or add to the fields (:meth:`settings`).

        Returns
        -------
        Job
            The job, named ``self.name``.
        """
        new_job = function(*args, **{**self.settings(exclude), **overrides})
        new_job.name = self.name
        return new_job
